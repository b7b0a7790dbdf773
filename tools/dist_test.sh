#!/usr/bin/env bash
# Usage: tools/dist_test.sh CONFIG CHECKPOINT GPUS [test.py args]
# Launches one process per device through tools/dist_launch.sh
# (torch.distributed.run with its NNODES, NODE_RANK, PORT, MASTER_ADDR,
# PYTHON settings); on a machine without GPUs the processes run on CPU
# with the gloo backend.
CONFIG=$1
CHECKPOINT=$2
GPUS=$3

bash "$(dirname "$0")/dist_launch.sh" "$GPUS" "$(dirname "$0")/test.py" \
    "$CONFIG" "$CHECKPOINT" \
    --launcher pytorch ${@:4}
