#!/usr/bin/env bash
# Distributed training with torchrun: one process per GPU, or per CPU slot on a
# machine without CUDA (tools/train.py then uses the gloo backend).
#
#   bash tools/dist_train.sh CONFIG NPROC [train.py args...]
#
# Environment: PORT (default 29500), NNODES (1), NODE_RANK (0), MASTER_ADDR
# (127.0.0.1), PYTHON (default: the repository's .venv/bin/python if present).
set -euo pipefail

if [ "$#" -lt 2 ]; then
    echo "usage: bash tools/dist_train.sh CONFIG NPROC [train.py args...]" >&2
    exit 2
fi
CONFIG=$1
NPROC=$2
shift 2
case "$NPROC" in
    ''|*[!0-9]*|0) echo "dist_train.sh: error: NPROC must be a positive integer, got '$NPROC'" >&2; exit 2 ;;
esac

REPO_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ -z "${PYTHON:-}" ]; then
    if [ -x "$REPO_DIR/.venv/bin/python" ]; then
        PYTHON="$REPO_DIR/.venv/bin/python"
    else
        PYTHON=python3
    fi
fi

exec "$PYTHON" -m torch.distributed.run \
    --nnodes="${NNODES:-1}" \
    --node_rank="${NODE_RANK:-0}" \
    --master_addr="${MASTER_ADDR:-127.0.0.1}" \
    --master_port="${PORT:-29500}" \
    --nproc_per_node="$NPROC" \
    "$REPO_DIR/tools/train.py" "$CONFIG" --launcher pytorch "$@"
