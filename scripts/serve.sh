#!/usr/bin/env sh
# Check the configuration, then run the dashboard in the foreground (used by start.sh and the Docker image).
set -eu
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python}"
"$PYTHON" -m core.settings
port="$("$PYTHON" -m core.settings --value port)"
upload_mb="$("$PYTHON" -m core.settings --value upload_ceiling_mb)"
# The rest of a public server's settings (no error details, XSRF on, no usage statistics) are in
# .streamlit/config.toml; the upload ceiling follows MAX_UPLOAD_MB / MAX_VIDEO_MB. ui.launch is Streamlit
# with the default model loading from the start (PRELOAD_MODEL).
exec "$PYTHON" -m ui.launch run Home.py \
    --server.port "$port" --server.address "${APP_HOST:-0.0.0.0}" --server.maxUploadSize "$upload_mb" \
    --server.headless true --server.fileWatcherType none --browser.gatherUsageStats false
