#!/usr/bin/env bash
# Distributed training with torchrun: tools/dist_train.sh CONFIG NPROC [ARGS]
# On CPU-only machines the gloo backend is used (see tools/train.py).
set -euo pipefail
CONFIG=$1
NPROC=$2
PORT=${PORT:-29500}
shift 2
torchrun --nnodes=1 --nproc_per_node="$NPROC" --master_port="$PORT" \
    "$(dirname "$0")/train.py" "$CONFIG" --launcher pytorch "$@"
