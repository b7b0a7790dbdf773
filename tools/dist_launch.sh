#!/usr/bin/env bash
# Usage: tools/dist_launch.sh NPROC SCRIPT [SCRIPT args]
# What tools/dist_train.sh and tools/dist_test.sh share: runs SCRIPT in
# NPROC processes per node through torch.distributed.run, with the repo
# on PYTHONPATH. Environment: NNODES (1), NODE_RANK (0), PORT (29500),
# MASTER_ADDR (127.0.0.1), PYTHON (python). On a machine without GPUs the
# processes run on CPU with the gloo backend (mmyoloms.compat).
NPROC=$1
SCRIPT=$2
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-"127.0.0.1"}
PYTHON=${PYTHON:-python}

PYTHONPATH="$(dirname "$0")/..":$PYTHONPATH \
"$PYTHON" -m torch.distributed.run \
    --nnodes=$NNODES \
    --node_rank=$NODE_RANK \
    --master_addr=$MASTER_ADDR \
    --nproc_per_node=$NPROC \
    --master_port=$PORT \
    "$SCRIPT" \
    "${@:3}"
