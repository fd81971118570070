"""One typed Settings object read from the environment and an optional ``.env`` file (pydantic-settings).

Names used by the predecessor demos are accepted as aliases so their ``.env`` files keep working.
The process environment wins over ``.env``; the first alias that is set wins among aliases; an empty
value counts as unset. A value the app cannot use raises :class:`SettingsError` naming the variable as
it was written and what it may be.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from pathlib import Path
from typing import Annotated, Any

from pydantic import AliasChoices, BeforeValidator, Field, ValidationError, model_validator
from pydantic_settings import (
    BaseSettings,
    DotEnvSettingsSource,
    EnvSettingsSource,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

DEVICES = ("auto", "cpu", "cuda", "mps")
DTYPES = ("auto", "float32", "float16", "bfloat16")
LANGUAGES = ("ru", "en")
QUANT_CHOICES = ("auto", "none", "int8")
VISION_BF16_CHOICES = ("auto", "yes", "no")
ENGINES = ("local", "openai")
LOG_LEVELS = ("debug", "info", "warning", "error")
LOG_FORMATS = ("text", "json")
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


# -- how each kind of value is read (a ValueError's text says what is allowed) ------------------------------


def _choice(allowed: tuple[str, ...], aliases: Mapping[str, str] | None = None) -> Callable[[Any], str]:
    def read(value: Any) -> str:
        text = str(value).strip().lower()
        text = (aliases or {}).get(text, text)
        if text not in allowed:
            raise ValueError(" | ".join((*allowed, *(aliases or {}))))
        return text

    return read


def _flag(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _YES or text in _NO:
        return text in _YES
    raise ValueError("yes | no (also true/false, 1/0)")


def _integer(low: int, high: int) -> Callable[[Any], int]:
    def read(value: Any) -> int:
        try:
            number = int(value) if isinstance(value, int | float) and value == int(value) else int(str(value).strip())
        except ValueError:
            raise ValueError(f"an integer from {low} to {high}") from None
        if not low <= number <= high:
            raise ValueError(f"an integer from {low} to {high}")
        return number

    return read


def _number(low: float, high: float) -> Callable[[Any], float | None]:
    def read(value: Any) -> float | None:
        if value is None:
            return None
        try:
            number = float(str(value).strip())
        except ValueError:
            raise ValueError(f"a number from {low:g} to {high:g}") from None
        if not low <= number <= high:
            raise ValueError(f"a number from {low:g} to {high:g}")
        return number

    return read


_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600}


def _duration(value: Any) -> float | None:
    """Seconds from ``90``, ``90s``, ``30m`` or ``2h``; ``never`` (or ``-1``) means no time limit."""
    if value is None or isinstance(value, int | float):
        return value
    raw = str(value).strip().lower()
    if raw in ("never", "-1"):
        return None
    unit = _DURATION_UNITS.get(raw[-1:])
    try:
        seconds = float(raw[:-1] if unit is not None else raw) * (unit or 1)
    except ValueError:
        seconds = -1.0
    if seconds < 0:
        raise ValueError("a duration such as 90s, 30m or 2h, 0 (unload at once) or never")
    return seconds


def _names(value: Any) -> tuple[str, ...]:
    if isinstance(value, tuple | list):
        return tuple(value)
    return tuple(item.strip() for item in str(value).split(",") if item.strip())


def _path(value: Any) -> Path | None:
    return None if value is None else Path(str(value).strip()).expanduser()


def _url(value: Any) -> str:
    text = str(value).strip()
    if not text.startswith(("http://", "https://")):
        raise ValueError("an http:// or https:// URL, e.g. http://vllm:8000/v1")
    return text.rstrip("/")


def _max_memory(value: Any) -> str | None:
    if value is None:
        return None
    try:
        parse_max_memory(str(value))
    except ValueError:
        raise ValueError("device:size pairs, e.g. 0:20GiB,1:20GiB,cpu:64GiB") from None
    return str(value).strip()


def _env(*names: str) -> Any:
    """The variable's name(s), first set wins; the field's own name works when Settings is built in code."""
    return AliasChoices(*names)


Choice = Callable[..., Any]


def _read(reader: Choice) -> BeforeValidator:
    return BeforeValidator(reader)


class Settings(BaseSettings):
    """Every setting, typed. ``Settings(...)`` in code takes only what it is given (no environment):
    :func:`load_settings` reads the environment and ``.env``."""

    model_config = SettingsConfigDict(frozen=True, populate_by_name=True, extra="ignore", env_ignore_empty=True,
                                      case_sensitive=True)  # fmt: skip

    model_id: str | None = Field(None, validation_alias=_env("model_id", "MODEL_ID", "SMOLVLM2_MODEL_ID", "MODEL_NAME"))
    model_path: Annotated[Path | None, _read(_path)] = Field(None, validation_alias=_env("model_path", "MODEL_PATH"))
    device: Annotated[str, _read(_choice(DEVICES, {"gpu": "cuda"}))] = Field(
        "auto", validation_alias=_env("device", "MODEL_DEVICE", "DEVICE")
    )
    dtype: Annotated[str, _read(_choice(DTYPES))] = Field("auto", validation_alias=_env("dtype", "MODEL_DTYPE"))
    allow_download: Annotated[bool, _read(_flag)] = Field(
        True, validation_alias=_env("allow_download", "ALLOW_MODEL_DOWNLOAD")
    )
    hub_offline: Annotated[bool, _read(_flag)] = Field(False, validation_alias=_env("hub_offline", "HF_HUB_OFFLINE"))
    hf_home: Annotated[Path, _read(_path)] = Field(
        default_factory=lambda: Path.home() / ".cache" / "huggingface",
        validation_alias=_env("hf_home", "HF_HOME", "HF_CACHE_DIR"),
    )
    hf_token: Annotated[Secret, _read(lambda value: Secret(str(value).strip()))] = Field(
        default_factory=lambda: Secret(""), validation_alias=_env("hf_token", "HF_TOKEN")
    )
    port: Annotated[int, _read(_integer(1, 65535))] = Field(
        8501, validation_alias=_env("port", "APP_PORT", "PORT", "GRADIO_PORT")
    )
    max_new_tokens: Annotated[int, _read(_integer(1, MAX_NEW_TOKENS_LIMIT))] = Field(
        512, validation_alias=_env("max_new_tokens", "MAX_NEW_TOKENS")
    )
    ui_lang: Annotated[str, _read(_choice(LANGUAGES))] = Field("ru", validation_alias=_env("ui_lang", "UI_LANG"))
    max_upload_mb: Annotated[int, _read(_integer(1, 2048))] = Field(
        50, validation_alias=_env("max_upload_mb", "MAX_UPLOAD_MB")
    )
    max_video_mb: Annotated[int, _read(_integer(1, 2048))] = Field(
        200, validation_alias=_env("max_video_mb", "MAX_VIDEO_MB")
    )
    max_video_seconds: Annotated[int, _read(_integer(1, 7200))] = Field(
        600, validation_alias=_env("max_video_seconds", "MAX_VIDEO_SECONDS")
    )
    max_video_side: Annotated[int, _read(_integer(64, 8192))] = Field(
        3840, validation_alias=_env("max_video_side", "MAX_VIDEO_SIDE")
    )
    extra_model_ids: Annotated[tuple[str, ...], NoDecode, _read(_names)] = Field(
        (), validation_alias=_env("extra_model_ids", "EXTRA_MODEL_IDS")
    )
    lab_documents_dir: Annotated[Path | None, _read(_path)] = Field(
        None, validation_alias=_env("lab_documents_dir", "LAB_DOCUMENTS_DIR")
    )
    # None: from the free RAM, or the GPU's memory
    model_memory_gb: Annotated[float | None, _read(_number(0.01, 4096))] = Field(
        None, validation_alias=_env("model_memory_gb", "MODEL_MEMORY_GB")
    )
    # None: 2 on a CPU, 3 on a GPU
    max_loaded_models: Annotated[int | None, _read(lambda v: v if v is None else _integer(1, 32)(v))] = Field(
        None, validation_alias=_env("max_loaded_models", "MAX_LOADED_MODELS")
    )
    # None: idle models stay until room is needed
    model_keep_alive_s: Annotated[float | None, _read(_duration)] = Field(
        1800.0, validation_alias=_env("model_keep_alive_s", "MODEL_KEEP_ALIVE")
    )
    max_parallel: Annotated[int, _read(_integer(1, 64))] = Field(
        1, validation_alias=_env("max_parallel", "MAX_PARALLEL")
    )
    max_queue: Annotated[int, _read(_integer(1, 10000))] = Field(16, validation_alias=_env("max_queue", "MAX_QUEUE"))
    model_quant: Annotated[str, _read(_choice(QUANT_CHOICES))] = Field(
        "auto", validation_alias=_env("model_quant", "MODEL_QUANT")
    )  # auto | none | int8 (see core.engines.quantization)
    # torch threads while a CPU decodes (None: core.engines.device.decode_threads decides; prefill uses all cores)
    decode_threads: Annotated[int | None, _read(lambda v: v if v is None else _integer(1, 256)(v))] = Field(
        None, validation_alias=_env("decode_threads", "DECODE_THREADS")
    )
    # int8 weights written under HF_HOME/int8 after the first quantization, read instead of quantizing again
    int8_cache: Annotated[bool, _read(_flag)] = Field(True, validation_alias=_env("int8_cache", "INT8_CACHE"))
    # with int8 weights on a CPU: the vision encoder in bfloat16 (auto: where the CPU has bf16 matrix units, AMX)
    vision_bf16: Annotated[str, _read(_choice(VISION_BF16_CHOICES))] = Field(
        "auto", validation_alias=_env("vision_bf16", "VISION_BF16")
    )
    # sessions' re-usable image prefixes (KV caches), least recently used dropped
    prefix_cache_mb: Annotated[int, _read(_integer(0, 1_000_000))] = Field(
        512, validation_alias=_env("prefix_cache_mb", "PREFIX_CACHE_MB")
    )
    log_level: Annotated[str, _read(_choice(LOG_LEVELS))] = Field(
        "info", validation_alias=_env("log_level", "LOG_LEVEL")
    )
    # text | json: one line per record either way
    log_format: Annotated[str, _read(_choice(LOG_FORMATS))] = Field(
        "text", validation_alias=_env("log_format", "LOG_FORMAT")
    )
    # local: transformers in this process; openai: an OpenAI-compatible server
    engine: Annotated[str, _read(_choice(ENGINES))] = Field("local", validation_alias=_env("engine", "ENGINE"))
    openai_base_url: Annotated[str, _read(_url)] = Field(
        "http://localhost:8000/v1", validation_alias=_env("openai_base_url", "OPENAI_BASE_URL")
    )
    openai_api_key: Annotated[Secret, _read(lambda value: Secret(str(value).strip()))] = Field(
        default_factory=lambda: Secret(""), validation_alias=_env("openai_api_key", "OPENAI_API_KEY")
    )
    # the served model names offered in the picker
    openai_models: Annotated[tuple[str, ...], NoDecode, _read(_names)] = Field(
        (), validation_alias=_env("openai_models", "OPENAI_MODEL")
    )
    # requests in flight per remote model: the server batches them
    remote_parallel: Annotated[int, _read(_integer(1, 1024))] = Field(
        8, validation_alias=_env("remote_parallel", "REMOTE_PARALLEL")
    )
    # one request, from sending to the last token
    remote_timeout_s: Annotated[float, _read(lambda value: float(_integer(1, 86400)(value)))] = Field(
        300.0, validation_alias=_env("remote_timeout_s", "REMOTE_TIMEOUT_S")
    )
    # accelerate's per-device budget, e.g. "0:20GiB,1:20GiB,cpu:64GiB"
    model_max_memory: Annotated[str | None, _read(_max_memory)] = Field(
        None, validation_alias=_env("model_max_memory", "MODEL_MAX_MEMORY")
    )
    # converts pages to Markdown (OCR page, structured output)
    docling_model: str = Field(DEFAULT_DOCLING_MODEL, validation_alias=_env("docling_model", "DOCLING_MODEL"))
    # DocTags tokens per page: a dense page takes a few thousand
    convert_max_new_tokens: Annotated[int, _read(_integer(16, MAX_NEW_TOKENS_LIMIT))] = Field(
        4096, validation_alias=_env("convert_max_new_tokens", "CONVERT_MAX_NEW_TOKENS")
    )

    # the default model starts loading when the server starts (python -m ui.launch), not at the first request
    preload_model: Annotated[bool, _read(_flag)] = Field(True, validation_alias=_env("preload_model", "PRELOAD_MODEL"))
    # a picture's image prefix is computed in the background before the first question (batch work)
    prepare_images: Annotated[bool, _read(_flag)] = Field(
        True, validation_alias=_env("prepare_images", "PREPARE_IMAGES")
    )
    # where the history keeps its database and the uploaded files
    data_dir: Annotated[Path, _read(_path)] = Field(
        default_factory=lambda: Path.home() / ".local" / "share" / "vlm-studio",
        validation_alias=_env("data_dir", "DATA_DIR"),
    )
    # every session's work stored as it happens; off for a kiosk
    history: Annotated[bool, _read(_flag)] = Field(True, validation_alias=_env("history", "HISTORY"))
    history_days: Annotated[int, _read(_integer(1, 36500))] = Field(
        30, validation_alias=_env("history_days", "HISTORY_DAYS")
    )
    history_max_gb: Annotated[float | None, _read(_number(0.001, 1_000_000))] = Field(
        5.0, validation_alias=_env("history_max_gb", "HISTORY_MAX_GB")
    )
    # any SQLAlchemy URL (postgresql+psycopg://...); empty: SQLite in DATA_DIR
    database_url: Annotated[Secret, _read(lambda value: Secret(str(value).strip()))] = Field(
        default_factory=lambda: Secret(""), validation_alias=_env("database_url", "DATABASE_URL")
    )
    # with sign-in configured: who may enter (empty: anyone the identity provider signs in)
    allowed_emails: Annotated[tuple[str, ...], NoDecode, _read(lambda v: tuple(n.lower() for n in _names(v)))] = Field(
        (), validation_alias=_env("allowed_emails", "ALLOWED_EMAILS")
    )
    allowed_domains: Annotated[
        tuple[str, ...], NoDecode, _read(lambda v: tuple(n.lower().lstrip("@") for n in _names(v)))
    ] = Field((), validation_alias=_env("allowed_domains", "ALLOWED_DOMAINS"))
    # requests one signed-in person may have waiting in the queue
    max_queued_per_user: Annotated[int, _read(_integer(1, 1000))] = Field(
        2, validation_alias=_env("max_queued_per_user", "MAX_QUEUED_PER_USER")
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        reading = _READING.get()
        if reading is None:  # built in code: only what was passed
            return (init_settings,)
        environ, dotenv_path = reading
        sources: list[PydanticBaseSettingsSource] = [init_settings, _GivenEnvironment(settings_cls, environ)]
        if dotenv_path is not None and Path(dotenv_path).is_file():
            sources.append(DotEnvSettingsSource(settings_cls, env_file=dotenv_path, env_file_encoding="utf-8"))
        return tuple(sources)

    @model_validator(mode="after")
    def _offline_means_no_download(self) -> Settings:
        if self.hub_offline and self.allow_download:  # HF_HUB_OFFLINE=1 wins over ALLOW_MODEL_DOWNLOAD
            object.__setattr__(self, "allow_download", False)  # frozen: set once, while being built
        return self

    @property
    def upload_ceiling_mb(self) -> int:
        """Streamlit's transport limit: the largest file the app's own checks (images, videos) may accept."""
        return max(self.max_upload_mb, self.max_video_mb)

    @property
    def offline(self) -> bool:
        return not self.allow_download or self.hub_offline

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


_READING: ContextVar[tuple[Mapping[str, str], str | Path | None] | None] = ContextVar("settings_reading", default=None)


class _GivenEnvironment(EnvSettingsSource):
    """The environment :func:`load_settings` was given (the process's, or a test's mapping)."""

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str]) -> None:
        self._given = environ
        super().__init__(settings_cls)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return {name: value for name, value in self._given.items() if value is not None and value.strip() != ""}


def load_settings(environ: Mapping[str, str] | None = None, dotenv_path: str | Path | None = ".env") -> Settings:
    """Read settings; raise :class:`SettingsError` naming the first invalid variable."""
    environ = os.environ if environ is None else environ
    token = _READING.set((environ, dotenv_path))
    try:
        settings = Settings()
    except ValidationError as error:
        raise _settings_error(error, environ, dotenv_path) from None
    finally:
        _READING.reset(token)
    if settings.engine == "openai" and not settings.openai_models:
        raise SettingsError("OPENAI_MODEL", "", "the served model name(s), comma-separated, when ENGINE=openai")
    return settings


def _settings_error(
    error: ValidationError, environ: Mapping[str, str], dotenv_path: str | Path | None
) -> SettingsError:
    """The first problem, named by the variable that was set (the alias actually used), as people wrote it."""
    first = error.errors()[0]
    field = str(first["loc"][0]) if first["loc"] else "-"
    allowed = str(first.get("ctx", {}).get("error", "")) or str(first["msg"])
    return SettingsError(_variable(field, environ, dotenv_path), str(first.get("input", "")),
                         allowed.removeprefix("Value error, "))  # fmt: skip


def _variable(field: str, environ: Mapping[str, str], dotenv_path: str | Path | None) -> str:
    info = Settings.model_fields.get(field)
    alias = info.validation_alias if info is not None else None
    names = [name for name in getattr(alias, "choices", ()) if isinstance(name, str) and name != field]
    if not names:
        return field
    dotenv: Mapping[str, str | None] = {}
    if dotenv_path is not None and Path(dotenv_path).is_file():
        from dotenv import dotenv_values

        dotenv = dotenv_values(dotenv_path)
    for values in (environ, dotenv):
        for name in names:
            if (values.get(name) or "").strip():
                return name
    return names[0]


_SECRETS = ("hf_token", "openai_api_key", "database_url")


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
        if args.value in _SECRETS or args.value not in (*Settings.model_fields, "upload_ceiling_mb"):
            print(f"unknown setting {args.value!r}", file=sys.stderr)
            return 2
        print(getattr(settings, args.value))
        return 0
    for name, value in settings.model_dump().items():
        shown = "***" if name in _SECRETS and value else value
        print(f"{name}={shown}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
