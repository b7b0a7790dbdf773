#!/usr/bin/env bash
# Usage: tools/dist_train.sh CONFIG GPUS [train.py args]
# Launches one process per device through tools/dist_launch.sh
# (torch.distributed.run with its NNODES, NODE_RANK, PORT, MASTER_ADDR,
# PYTHON settings); on a machine without GPUs the processes run on CPU
# with the gloo backend.
CONFIG=$1
GPUS=$2

bash "$(dirname "$0")/dist_launch.sh" "$GPUS" "$(dirname "$0")/train.py" \
    "$CONFIG" \
    --launcher pytorch ${@:3}
