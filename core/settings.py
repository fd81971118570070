"""One typed Settings object read from the environment and an optional ``.env`` file.

Names used by the predecessor demos are accepted as aliases so their ``.env`` files keep working.
The process environment wins over ``.env``; the first alias that is set wins among aliases.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dotenv import dotenv_values

DEVICES = ("auto", "cpu", "cuda", "mps")
DTYPES = ("auto", "float32", "float16", "bfloat16")
LANGUAGES = ("ru", "en")
QUANT_CHOICES = ("auto", "none", "int8")
ENGINES = ("local", "openai")
_YES = ("yes", "true", "1", "on")
_NO = ("no", "false", "0", "off")

MAX_NEW_TOKENS_LIMIT = 8192
DEFAULT_DOCLING_MODEL = "ibm-granite/granite-docling-258M"
DEFAULT_GPU_MODEL = "HuggingFaceTB/SmolVLM2-2.2B-Instruct"
DEFAULT_CPU_MODEL = "HuggingFaceTB/SmolVLM2-500M-Video-Instruct"


class SettingsError(ValueError):
    """A variable holds a value the app cannot use; the message names it and what is allowed."""

    def __init__(self, variable: str, value: str, allowed: str) -> None:
        self.variable = variable
        self.value = value
        self.allowed = allowed
        super().__init__(f"{variable}={value!r} is not valid; allowed: {allowed}")


class Secret(str):
    """A string that never shows its value in repr, str formatting of containers or logs."""

    def __repr__(self) -> str:
        return "Secret('***')" if self else "Secret('')"


@dataclass(frozen=True)
class Settings:
    model_id: str | None = None
    model_path: Path | None = None
    device: str = "auto"
    dtype: str = "auto"
    allow_download: bool = True
    hf_home: Path = field(default_factory=lambda: Path.home() / ".cache" / "huggingface")
    hf_token: Secret = field(default_factory=lambda: Secret(""))
    port: int = 8501
    max_new_tokens: int = 512
    ui_lang: str = "ru"
    max_upload_mb: int = 50
    max_video_mb: int = 200
    max_video_seconds: int = 600
    max_video_side: int = 3840
    extra_model_ids: tuple[str, ...] = ()
    lab_documents_dir: Path | None = None
    model_memory_gb: float | None = None  # None: from the free RAM, or the GPU's memory
    max_loaded_models: int | None = None  # None: 2 on a CPU, 3 on a GPU
    model_keep_alive_s: float | None = 1800.0  # None: idle models stay until room is needed
    max_parallel: int = 1
    max_queue: int = 16
    model_quant: str = "auto"  # auto | none | int8 (see core.engines.quantization)
    prefix_cache_mb: int = 512  # sessions' re-usable image prefixes (KV caches), least recently used dropped
    log_level: str = "info"
    log_format: str = "text"  # text | json: one line per record either way
    engine: str = "local"  # local: transformers in this process; openai: an OpenAI-compatible server
    openai_base_url: str = "http://localhost:8000/v1"
    openai_api_key: Secret = field(default_factory=lambda: Secret(""))
    openai_models: tuple[str, ...] = ()  # the served model names offered in the picker
    remote_parallel: int = 8  # requests in flight per remote model: the server batches them
    remote_timeout_s: float = 300.0  # one request, from sending to the last token
    model_max_memory: str | None = None  # accelerate's per-device budget, e.g. "0:20GiB,1:20GiB,cpu:64GiB"
    docling_model: str = DEFAULT_DOCLING_MODEL  # converts pages to Markdown (OCR page, structured output)
    convert_max_new_tokens: int = 4096  # DocTags tokens per page: a dense page takes a few thousand

    @property
    def upload_ceiling_mb(self) -> int:
        """Streamlit's transport limit: the largest file the app's own checks (images, videos) may accept."""
        return max(self.max_upload_mb, self.max_video_mb)

    @property
    def offline(self) -> bool:
        return not self.allow_download

    @property
    def hub_cache_dir(self) -> Path:
        return self.hf_home / "hub"

    def model_source(self, device_kind: str) -> str:
        """What to pass to ``from_pretrained``: MODEL_PATH when it exists, else MODEL_ID, else the default.

        With ENGINE=openai it is the first served model, unless MODEL_ID names one of them.
        """
        if self.engine == "openai" and self.openai_models:
            return self.model_id if self.model_id in self.openai_models else self.openai_models[0]
        if self.model_path is not None and self.model_path.is_dir():
            return str(self.model_path)
        if self.model_id:
            return self.model_id
        return DEFAULT_GPU_MODEL if device_kind in ("cuda", "mps") else DEFAULT_CPU_MODEL


_BUDGET = re.compile(r"^\s*(\d+|cpu|disk)\s*:\s*(\d+(?:\.\d+)?)\s*([KMGT]i?B)\s*$", re.IGNORECASE)


def parse_max_memory(text: str) -> dict[int | str, str]:
    """``"0:20GiB, 1:20GiB, cpu:64GiB"`` -> ``{0: "20GiB", 1: "20GiB", "cpu": "64GiB"}``; ValueError if malformed."""
    budgets: dict[int | str, str] = {}
    for part in text.split(","):
        match = _BUDGET.match(part)
        if match is None:
            raise ValueError(f"cannot read {part.strip()!r}; write device:size, e.g. 0:20GiB or cpu:64GiB")
        device, number, unit = match.groups()
        budgets[int(device) if device.isdigit() else device.lower()] = f"{number}{unit}"
    return budgets


LOG_LEVELS = ("debug", "info", "warning", "error")
LOG_FORMATS = ("text", "json")


def _lookup(values: Mapping[str, str], *names: str) -> tuple[str, str] | None:
    for name in names:
        raw = values.get(name)
        if raw is not None and raw.strip() != "":
            return name, raw.strip()
    return None


def _choice(values: Mapping[str, str], names: tuple[str, ...], allowed: tuple[str, ...], default: str) -> str:
    found = _lookup(values, *names)
    if found is None:
        return default
    name, raw = found
    value = raw.lower()
    if value not in allowed:
        raise SettingsError(name, raw, " | ".join(allowed))
    return value


def _flag(values: Mapping[str, str], name: str, default: bool) -> bool:
    found = _lookup(values, name)
    if found is None:
        return default
    _, raw = found
    if raw.lower() in _YES:
        return True
    if raw.lower() in _NO:
        return False
    raise SettingsError(name, raw, "yes | no (also true/false, 1/0)")


def _int(values: Mapping[str, str], names: tuple[str, ...], default: int, low: int, high: int) -> int:
    found = _lookup(values, *names)
    if found is None:
        return default
    name, raw = found
    try:
        number = int(raw)
    except ValueError:
        raise SettingsError(name, raw, f"an integer from {low} to {high}") from None
    if not low <= number <= high:
        raise SettingsError(name, raw, f"an integer from {low} to {high}")
    return number


def _float(values: Mapping[str, str], name: str, low: float, high: float) -> float | None:
    found = _lookup(values, name)
    if found is None:
        return None
    try:
        number = float(found[1])
    except ValueError:
        raise SettingsError(name, found[1], f"a number from {low:g} to {high:g}") from None
    if not low <= number <= high:
        raise SettingsError(name, found[1], f"a number from {low:g} to {high:g}")
    return number


_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600}


def _duration(values: Mapping[str, str], name: str, default: float | None) -> float | None:
    """Seconds from ``90``, ``90s``, ``30m`` or ``2h``; ``never`` (or ``-1``) means no time limit."""
    found = _lookup(values, name)
    if found is None:
        return default
    raw = found[1].lower()
    if raw in ("never", "-1"):
        return None
    unit = _DURATION_UNITS.get(raw[-1:])
    number = raw[:-1] if unit is not None else raw
    try:
        seconds = float(number) * (unit or 1)
    except ValueError:
        seconds = -1.0
    if seconds < 0:
        raise SettingsError(name, found[1], "a duration such as 90s, 30m or 2h, 0 (unload at once) or never")
    return seconds


def _list(values: Mapping[str, str], name: str) -> tuple[str, ...]:
    found = _lookup(values, name)
    if found is None:
        return ()
    return tuple(item.strip() for item in found[1].split(",") if item.strip())


def load_settings(environ: Mapping[str, str] | None = None, dotenv_path: str | Path | None = ".env") -> Settings:
    """Read settings; raise :class:`SettingsError` naming the first invalid variable."""
    values: dict[str, str] = {}
    if dotenv_path is not None and Path(dotenv_path).is_file():
        values.update({k: v for k, v in dotenv_values(dotenv_path).items() if v is not None})
    values.update(os.environ if environ is None else environ)

    device = _choice(values, ("MODEL_DEVICE", "DEVICE"), (*DEVICES, "gpu"), "auto")
    if device == "gpu":
        device = "cuda"

    allow_download = _flag(values, "ALLOW_MODEL_DOWNLOAD", True)
    if _flag(values, "HF_HUB_OFFLINE", False):
        allow_download = False

    model_id = _lookup(values, "MODEL_ID", "SMOLVLM2_MODEL_ID", "MODEL_NAME")
    model_path = _lookup(values, "MODEL_PATH")
    hf_home = _lookup(values, "HF_HOME", "HF_CACHE_DIR")
    token = _lookup(values, "HF_TOKEN")
    lab_dir = _lookup(values, "LAB_DOCUMENTS_DIR")
    docling = _lookup(values, "DOCLING_MODEL")

    return Settings(
        model_id=model_id[1] if model_id else None,
        model_path=Path(model_path[1]).expanduser() if model_path else None,
        device=device,
        dtype=_choice(values, ("MODEL_DTYPE",), DTYPES, "auto"),
        allow_download=allow_download,
        hf_home=Path(hf_home[1]).expanduser() if hf_home else Settings().hf_home,
        hf_token=Secret(token[1] if token else ""),
        port=_int(values, ("APP_PORT", "PORT", "GRADIO_PORT"), 8501, 1, 65535),
        max_new_tokens=_int(values, ("MAX_NEW_TOKENS",), 512, 1, MAX_NEW_TOKENS_LIMIT),
        ui_lang=_choice(values, ("UI_LANG",), LANGUAGES, "ru"),
        max_upload_mb=_int(values, ("MAX_UPLOAD_MB",), 50, 1, 2048),
        max_video_mb=_int(values, ("MAX_VIDEO_MB",), 200, 1, 2048),
        max_video_seconds=_int(values, ("MAX_VIDEO_SECONDS",), 600, 1, 7200),
        max_video_side=_int(values, ("MAX_VIDEO_SIDE",), 3840, 64, 8192),
        extra_model_ids=_list(values, "EXTRA_MODEL_IDS"),
        lab_documents_dir=Path(lab_dir[1]).expanduser() if lab_dir else None,
        model_memory_gb=_float(values, "MODEL_MEMORY_GB", 0.01, 4096),
        max_loaded_models=_int(values, ("MAX_LOADED_MODELS",), 0, 1, 32) or None,
        model_keep_alive_s=_duration(values, "MODEL_KEEP_ALIVE", 1800.0),
        max_parallel=_int(values, ("MAX_PARALLEL",), 1, 1, 64),
        max_queue=_int(values, ("MAX_QUEUE",), 16, 1, 10000),
        model_quant=_choice(values, ("MODEL_QUANT",), QUANT_CHOICES, "auto"),
        prefix_cache_mb=_int(values, ("PREFIX_CACHE_MB",), 512, 0, 1_000_000),
        log_level=_choice(values, ("LOG_LEVEL",), LOG_LEVELS, "info"),
        log_format=_choice(values, ("LOG_FORMAT",), LOG_FORMATS, "text"),
        docling_model=docling[1] if docling else DEFAULT_DOCLING_MODEL,
        convert_max_new_tokens=_int(values, ("CONVERT_MAX_NEW_TOKENS",), 4096, 16, MAX_NEW_TOKENS_LIMIT),
        **_remote(values),
    )


def _remote(values: Mapping[str, str]) -> dict[str, Any]:
    engine = _choice(values, ("ENGINE",), ENGINES, "local")
    models = _list(values, "OPENAI_MODEL")
    if engine == "openai" and not models:
        raise SettingsError("OPENAI_MODEL", "", "the served model name(s), comma-separated, when ENGINE=openai")
    base_url = _lookup(values, "OPENAI_BASE_URL")
    if base_url and not base_url[1].startswith(("http://", "https://")):
        raise SettingsError("OPENAI_BASE_URL", base_url[1], "an http:// or https:// URL, e.g. http://vllm:8000/v1")
    key = _lookup(values, "OPENAI_API_KEY")
    max_memory = _lookup(values, "MODEL_MAX_MEMORY")
    if max_memory:
        try:
            parse_max_memory(max_memory[1])
        except ValueError:
            raise SettingsError(
                "MODEL_MAX_MEMORY", max_memory[1], "device:size pairs, e.g. 0:20GiB,1:20GiB,cpu:64GiB"
            ) from None
    return {
        "engine": engine,
        "openai_base_url": base_url[1].rstrip("/") if base_url else "http://localhost:8000/v1",
        "openai_api_key": Secret(key[1] if key else ""),
        "openai_models": models,
        "remote_parallel": _int(values, ("REMOTE_PARALLEL",), 8, 1, 1024),
        "remote_timeout_s": float(_int(values, ("REMOTE_TIMEOUT_S",), 300, 1, 86400)),
        "model_max_memory": max_memory[1] if max_memory else None,
    }


_SECRETS = ("hf_token", "openai_api_key")


def main(argv: list[str] | None = None) -> int:
    """``python -m core.settings [--value NAME]`` checks the configuration and prints it (never the token)."""
    import argparse
    import sys

    parser = argparse.ArgumentParser(description="Check the configuration and print it.")
    parser.add_argument("--value", help="print only this setting (e.g. port)")
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as error:
        print(f"Configuration error: {error}", file=sys.stderr)
        return 2
    if args.value:
        if args.value in _SECRETS or args.value not in (*vars(settings), "upload_ceiling_mb"):
            print(f"unknown setting {args.value!r}", file=sys.stderr)
            return 2
        print(getattr(settings, args.value))
        return 0
    for name, value in vars(settings).items():
        shown = "***" if name in _SECRETS and value else value
        print(f"{name}={shown}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
