#!/usr/bin/env bash
# The OpenVINO peer's own virtual environment (.venv-openvino at the project root): optimum-intel's SmolVLM
# export needs transformers 4.57, the app runs 5.x, so the two never share a venv. Safe to run again.
set -euo pipefail
root="$(cd "$(dirname "$0")/../../.." && pwd)"
venv="${OPENVINO_VENV:-$root/.venv-openvino}"
if [ ! -x "$venv/bin/python" ]; then
    "${PYTHON:-python3}" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$root/bench/peers/openvino/requirements.txt"
echo "$venv/bin/python"
