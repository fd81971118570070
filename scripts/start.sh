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

# Tesseract (the classical OCR engine, Russian + English) from Debian; without it the OCR page offers
# only the models and says how to install it.
need_tesseract=()
for pack in rus eng; do
    tesseract --list-langs 2>/dev/null | grep -qx "$pack" || need_tesseract+=(tesseract-ocr "tesseract-ocr-$pack")
done
if [ ${#need_tesseract[@]} -gt 0 ] && command -v apt-get >/dev/null 2>&1; then
    as_root=()
    [ "$(id -u)" -eq 0 ] || as_root=(sudo -n)
    if "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null 2>&1 \
        && "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
            "${need_tesseract[@]}" >/dev/null 2>&1; then
        echo "installed ${need_tesseract[*]}"
    else
        echo "note: could not install ${need_tesseract[*]}; the OCR page will offer the models only" >&2
    fi
fi

if [ "${1:-}" = "--tiny" ]; then
    # A chat model and a document converter ("docling" in its folder name tells it from SmolVLM).
    for family in smolvlm docling; do
        if [ ! -f "models/tiny-$family/model.safetensors" ]; then
            .venv/bin/python -m core.tiny_models --family "$family" --out "models/tiny-$family"
        fi
    done
    export MODEL_ID="$PWD/models/tiny-smolvlm" DOCLING_MODEL="$PWD/models/tiny-docling" HF_HUB_OFFLINE=1
    export CONVERT_MAX_NEW_TOKENS="${CONVERT_MAX_NEW_TOKENS:-256}"  # random weights never stop on their own
    unset MODEL_PATH
fi

PYTHON=.venv/bin/python exec sh scripts/serve.sh
