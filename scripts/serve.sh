#!/usr/bin/env sh
# Check the configuration, then run the dashboard in the foreground (used by start.sh and the Docker image).
set -eu
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python}"
"$PYTHON" -m core.settings
port="$("$PYTHON" -m core.settings --value port)"
exec "$PYTHON" -m streamlit run Home.py \
    --server.port "$port" --server.address "${APP_HOST:-0.0.0.0}" \
    --server.headless true --server.fileWatcherType none --browser.gatherUsageStats false
