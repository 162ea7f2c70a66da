#!/usr/bin/env bash
# Distributed training with torchrun on one machine:
#   tools/dist_train.sh CONFIG NPROC [ARGS of tools/train.py]
# Env: PORT (default 29500), NNODES, NODE_RANK, MASTER_ADDR for several
# machines; OMP_NUM_THREADS and MKL_NUM_THREADS (default: CPU cores / NPROC,
# at least 1; torchrun and mmengine otherwise set 1 and warn). On CPU-only
# machines the gloo backend is used (see tools/train.py).
set -euo pipefail
CONFIG=$1
NPROC=$2
shift 2
PORT=${PORT:-29500}
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
MASTER_ADDR=${MASTER_ADDR:-127.0.0.1}
if [ -z "${OMP_NUM_THREADS:-}" ]; then
    CORES=$(nproc 2>/dev/null || echo 1)
    OMP_NUM_THREADS=$(( CORES / NPROC > 0 ? CORES / NPROC : 1 ))
fi
export OMP_NUM_THREADS
export MKL_NUM_THREADS=${MKL_NUM_THREADS:-$OMP_NUM_THREADS}
torchrun --nnodes="$NNODES" --node_rank="$NODE_RANK" \
    --master_addr="$MASTER_ADDR" --nproc_per_node="$NPROC" \
    --master_port="$PORT" \
    "$(dirname "$0")/train.py" "$CONFIG" --launcher pytorch "$@"
