from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from core.settings import DEFAULT_CPU_MODEL, DEFAULT_GPU_MODEL, Settings, SettingsError, load_settings
from tests.conftest import ROOT


def test_defaults_without_any_variable():
    settings = load_settings({}, dotenv_path=None)
    assert settings.model_id is None
    assert settings.device == "auto"
    assert settings.dtype == "auto"
    assert settings.allow_download is True
    assert settings.ui_lang == "ru"
    assert settings.port == 8501
    assert settings.max_new_tokens == 512


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"MODEL_ID": "a/b"}, "a/b"),
        ({"SMOLVLM2_MODEL_ID": "a/b"}, "a/b"),  # predecessor demo 001
        ({"MODEL_NAME": "a/b"}, "a/b"),  # predecessor demos 000 and 002
        ({"MODEL_ID": "first/one", "MODEL_NAME": "second/one"}, "first/one"),  # the main name wins
        ({"MODEL_ID": "  ", "MODEL_NAME": "a/b"}, "a/b"),  # blank counts as unset
    ],
)
def test_model_id_and_aliases(env, expected):
    assert load_settings(env, dotenv_path=None).model_id == expected


@pytest.mark.parametrize(
    ("env", "port"),
    [({"APP_PORT": "9000"}, 9000), ({"PORT": "9001"}, 9001), ({"GRADIO_PORT": "7860"}, 7860)],
)
def test_port_aliases(env, port):
    assert load_settings(env, dotenv_path=None).port == port


def test_cache_dir_alias_and_hub_dir(tmp_path):
    settings = load_settings({"HF_CACHE_DIR": str(tmp_path)}, dotenv_path=None)
    assert settings.hf_home == tmp_path
    assert settings.hub_cache_dir == tmp_path / "hub"


@pytest.mark.parametrize(
    ("env", "device"),
    [({"MODEL_DEVICE": "gpu"}, "cuda"), ({"MODEL_DEVICE": "CPU"}, "cpu"), ({"DEVICE": "mps"}, "mps")],
)
def test_device_values(env, device):
    assert load_settings(env, dotenv_path=None).device == device


@pytest.mark.parametrize(
    ("env", "allowed"),
    [
        ({}, True),
        ({"ALLOW_MODEL_DOWNLOAD": "no"}, False),
        ({"HF_HUB_OFFLINE": "1"}, False),
        ({"ALLOW_MODEL_DOWNLOAD": "yes", "HF_HUB_OFFLINE": "1"}, False),  # offline always wins
        ({"ALLOW_MODEL_DOWNLOAD": "yes", "HF_HUB_OFFLINE": "0"}, True),
    ],
)
def test_download_switches(env, allowed):
    settings = load_settings(env, dotenv_path=None)
    assert settings.allow_download is allowed
    assert settings.offline is not allowed


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"MODEL_DEVICE": "tpu"}, "MODEL_DEVICE"),
        ({"MODEL_DTYPE": "int4"}, "MODEL_DTYPE"),
        ({"UI_LANG": "de"}, "UI_LANG"),
        ({"APP_PORT": "eighty"}, "APP_PORT"),
        ({"GRADIO_PORT": "70000"}, "GRADIO_PORT"),  # the alias actually used is named
        ({"MAX_NEW_TOKENS": "0"}, "MAX_NEW_TOKENS"),
        ({"ALLOW_MODEL_DOWNLOAD": "maybe"}, "ALLOW_MODEL_DOWNLOAD"),
        ({"HF_HUB_OFFLINE": "2"}, "HF_HUB_OFFLINE"),
        ({"MAX_VIDEO_SECONDS": "-5"}, "MAX_VIDEO_SECONDS"),
        ({"MAX_VIDEO_SIDE": "10"}, "MAX_VIDEO_SIDE"),
    ],
)
def test_invalid_values_name_the_variable(env, variable):
    with pytest.raises(SettingsError) as caught:
        load_settings(env, dotenv_path=None)
    assert caught.value.variable == variable
    assert variable in str(caught.value)
    assert caught.value.allowed


def test_environment_wins_over_dotenv(tmp_path):
    dotenv = tmp_path / ".env"
    dotenv.write_text("MODEL_ID=from/dotenv\nUI_LANG=en\nMAX_NEW_TOKENS=64\n", encoding="utf-8")
    settings = load_settings({"MODEL_ID": "from/env"}, dotenv_path=dotenv)
    assert settings.model_id == "from/env"
    assert settings.ui_lang == "en"
    assert settings.max_new_tokens == 64


def test_token_is_never_shown(tmp_path):
    settings = load_settings({"HF_TOKEN": "hf_secret_value"}, dotenv_path=None)
    assert settings.hf_token == "hf_secret_value"
    assert "hf_secret_value" not in repr(settings)
    assert "hf_secret_value" not in str(settings)


def test_model_source_prefers_existing_model_path(tmp_path):
    assert Settings(model_id="a/b", model_path=tmp_path).model_source("cpu") == str(tmp_path)
    assert Settings(model_id="a/b", model_path=tmp_path / "absent").model_source("cpu") == "a/b"


@pytest.mark.parametrize(("device", "expected"), [("cpu", DEFAULT_CPU_MODEL), ("cuda", DEFAULT_GPU_MODEL)])
def test_default_model_depends_on_device(device, expected):
    assert Settings().model_source(device) == expected


def _run_settings_cli(env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "core.settings"],
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )


def test_cli_stops_on_invalid_value(tmp_path):
    result = _run_settings_cli({"MODEL_DEVICE": "tpu"}, tmp_path)
    assert result.returncode == 2
    assert "MODEL_DEVICE" in result.stderr and "auto | cpu | cuda | mps" in result.stderr


def test_cli_prints_settings_without_token(tmp_path):
    result = _run_settings_cli({"HF_TOKEN": "hf_do_not_print", "UI_LANG": "en"}, tmp_path)
    assert result.returncode == 0
    assert "hf_do_not_print" not in result.stdout
    assert "ui_lang=en" in result.stdout


def test_serve_script_refuses_to_start_with_an_invalid_value(tmp_path):
    result = subprocess.run(
        ["sh", str(ROOT / "scripts" / "serve.sh")],
        env={"PATH": "/usr/bin:/bin", "PYTHON": sys.executable, "UI_LANG": "fr"},
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 2
    assert "UI_LANG" in result.stderr and "ru | en" in result.stderr


def test_extra_model_ids_are_a_comma_separated_list():
    settings = load_settings({"EXTRA_MODEL_IDS": " /models/a, ,org/b "}, dotenv_path=None)
    assert settings.extra_model_ids == ("/models/a", "org/b")


def test_serving_defaults():
    settings = load_settings({}, dotenv_path=None)
    assert settings.model_memory_gb is None and settings.max_loaded_models is None  # worked out from the machine
    assert settings.model_keep_alive_s == 1800.0
    assert (settings.max_parallel, settings.max_queue) == (1, 16)


@pytest.mark.parametrize(
    ("raw", "seconds"),
    [("90", 90.0), ("90s", 90.0), ("30m", 1800.0), ("2h", 7200.0), ("0", 0.0), ("never", None), ("-1", None)],
)
def test_keep_alive_durations(raw, seconds):
    assert load_settings({"MODEL_KEEP_ALIVE": raw}, dotenv_path=None).model_keep_alive_s == seconds


def test_serving_values_are_read():
    settings = load_settings(
        {"MODEL_MEMORY_GB": "6.5", "MAX_LOADED_MODELS": "3", "MAX_PARALLEL": "2", "MAX_QUEUE": "40"}, dotenv_path=None
    )
    assert (settings.model_memory_gb, settings.max_loaded_models) == (6.5, 3)
    assert (settings.max_parallel, settings.max_queue) == (2, 40)


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"MODEL_MEMORY_GB": "lots"}, "MODEL_MEMORY_GB"),
        ({"MODEL_MEMORY_GB": "0"}, "MODEL_MEMORY_GB"),
        ({"MODEL_KEEP_ALIVE": "soon"}, "MODEL_KEEP_ALIVE"),
        ({"MODEL_KEEP_ALIVE": "-5m"}, "MODEL_KEEP_ALIVE"),
        ({"MAX_LOADED_MODELS": "0"}, "MAX_LOADED_MODELS"),
        ({"MAX_PARALLEL": "0"}, "MAX_PARALLEL"),
        ({"MAX_QUEUE": "many"}, "MAX_QUEUE"),
    ],
)
def test_invalid_serving_values_name_the_variable(env, variable):
    with pytest.raises(SettingsError) as caught:
        load_settings(env, dotenv_path=None)
    assert caught.value.variable == variable


def test_public_server_settings_in_the_streamlit_config():
    import tomllib

    from tests.conftest import ROOT

    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert config["client"]["showErrorDetails"] == "none"  # no stack trace ever reaches a browser
    assert config["server"]["enableXsrfProtection"] is True
    assert config["browser"]["gatherUsageStats"] is False
    # the transport ceiling never refuses a file the app's own (translated) checks would accept
    defaults = load_settings({}, dotenv_path=None)
    assert config["server"]["maxUploadSize"] >= defaults.upload_ceiling_mb
    serve = (ROOT / "scripts" / "serve.sh").read_text(encoding="utf-8")
    assert "--value upload_ceiling_mb" in serve and '--server.maxUploadSize "$upload_mb"' in serve


def test_upload_ceiling_follows_the_larger_limit():
    assert load_settings({"MAX_UPLOAD_MB": "300", "MAX_VIDEO_MB": "100"}, dotenv_path=None).upload_ceiling_mb == 300
    assert load_settings({"MAX_UPLOAD_MB": "10"}, dotenv_path=None).upload_ceiling_mb == 200


def test_log_settings():
    settings = load_settings({"LOG_LEVEL": "DEBUG", "LOG_FORMAT": "json"}, dotenv_path=None)
    assert (settings.log_level, settings.log_format) == ("debug", "json")
    with pytest.raises(SettingsError) as caught:
        load_settings({"LOG_FORMAT": "xml"}, dotenv_path=None)
    assert caught.value.variable == "LOG_FORMAT"


def test_remote_engine_settings():
    values = {"ENGINE": "openai", "OPENAI_BASE_URL": "http://vllm:8000/v1/", "OPENAI_API_KEY": "sk-secret",
              "OPENAI_MODEL": "Qwen/Qwen2.5-VL-3B-Instruct, HuggingFaceTB/SmolVLM2-2.2B-Instruct"}  # fmt: skip
    settings = load_settings(values, dotenv_path=None)
    assert settings.engine == "openai" and settings.openai_base_url == "http://vllm:8000/v1"
    assert settings.openai_models == ("Qwen/Qwen2.5-VL-3B-Instruct", "HuggingFaceTB/SmolVLM2-2.2B-Instruct")
    assert settings.remote_parallel == 8
    assert settings.model_source("cpu") == "Qwen/Qwen2.5-VL-3B-Instruct"  # the first served model
    assert "sk-secret" not in repr(settings)
    with pytest.raises(SettingsError) as missing:
        load_settings({"ENGINE": "openai"}, dotenv_path=None)
    assert missing.value.variable == "OPENAI_MODEL"
    with pytest.raises(SettingsError) as bad_url:
        load_settings({**values, "OPENAI_BASE_URL": "vllm:8000"}, dotenv_path=None)
    assert bad_url.value.variable == "OPENAI_BASE_URL"


def test_settings_printout_hides_the_api_key(monkeypatch, capsys):
    from core.settings import main

    monkeypatch.setenv("OPENAI_API_KEY", "sk-very-secret")
    monkeypatch.chdir(ROOT / "tests")  # no .env here
    assert main([]) == 0
    out = capsys.readouterr().out
    assert "openai_api_key=***" in out and "sk-very-secret" not in out
    assert main(["--value", "openai_api_key"]) == 2
