# VLM Studio image. Two variants from one file:
#   docker build --build-arg VARIANT=cpu  -t vlm-studio:cpu  .   (CPU-only torch from the PyTorch CPU index, small)
#   docker build --build-arg VARIANT=cuda -t vlm-studio:cuda .   (PyPI's CUDA build of torch; run with a GPU)
# Weights never live in the image: mount a Hugging Face cache at /data/hf_cache.
FROM python:3.11-slim-bookworm

ARG VARIANT=cpu
ARG TORCH_VERSION=2.14.1
ARG TORCHVISION_VERSION=0.29.2

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HF_HOME=/data/hf_cache \
    APP_PORT=8501 \
    APP_HOST=0.0.0.0

WORKDIR /app

COPY requirements.txt ./
# torch and torchvision first; the rest then finds them satisfied. The CPU variant takes the PyTorch CPU
# index (no CUDA libraries); the CUDA variant takes pip's default index, which serves the CUDA build.
RUN set -eux; \
    case "$VARIANT" in \
        cpu) pip install --index-url https://download.pytorch.org/whl/cpu \
                 "torch==${TORCH_VERSION}" "torchvision==${TORCHVISION_VERSION}" ;; \
        cuda) pip install "torch==${TORCH_VERSION}" "torchvision==${TORCHVISION_VERSION}" ;; \
        *) echo "VARIANT must be cpu or cuda, got $VARIANT" >&2; exit 1 ;; \
    esac; \
    pip install -r requirements.txt

# Tesseract with its Russian and English models: the classical OCR engine (pytesseract calls the binary).
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends tesseract-ocr tesseract-ocr-rus tesseract-ocr-eng \
    && rm -rf /var/lib/apt/lists/*

RUN useradd --create-home --uid 1000 app \
    && mkdir -p /data/hf_cache /data/history \
    && chown -R app:app /data

COPY --chown=app:app core/ ./core/
COPY --chown=app:app ui/ ./ui/
COPY --chown=app:app locales/ ./locales/
COPY --chown=app:app pages/ ./pages/
COPY --chown=app:app .streamlit/ ./.streamlit/
COPY --chown=app:app scripts/serve.sh ./scripts/
COPY --chown=app:app Home.py ./

USER 1000
EXPOSE 8501
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request as r; r.urlopen('http://127.0.0.1:%s/_stcore/health' % os.environ.get('APP_PORT', '8501'), timeout=4)"]
CMD ["sh", "scripts/serve.sh"]
