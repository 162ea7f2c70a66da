#!/usr/bin/env bash
# Distributed testing with torchrun on one machine:
#   tools/dist_test.sh CONFIG CHECKPOINT NPROC [ARGS of tools/test.py]
# Env as tools/dist_train.sh (PORT, NNODES, NODE_RANK, MASTER_ADDR,
# OMP_NUM_THREADS, MKL_NUM_THREADS).
set -euo pipefail
CONFIG=$1
CHECKPOINT=$2
NPROC=$3
shift 3
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
    "$(dirname "$0")/test.py" "$CONFIG" "$CHECKPOINT" --launcher pytorch "$@"
