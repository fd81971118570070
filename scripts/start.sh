#!/usr/bin/env bash
# Install the dashboard into .venv and start it.
#   ./scripts/start.sh          the model from MODEL_ID / .env (default: a SmolVLM2 checkpoint, downloaded once)
#   ./scripts/start.sh --tiny   a tiny random-weight model built offline: try the UI without internet (answers are noise)
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x .venv/bin/python ]; then
    "${PYTHON:-python3}" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements.txt

if [ "${1:-}" = "--tiny" ]; then
    tiny="$PWD/models/tiny-smolvlm"
    if [ ! -f "$tiny/model.safetensors" ]; then
        .venv/bin/python -m core.tiny_models --family smolvlm --out "$tiny"
    fi
    export MODEL_ID="$tiny" HF_HUB_OFFLINE=1
    unset MODEL_PATH
fi

PYTHON=.venv/bin/python exec sh scripts/serve.sh
