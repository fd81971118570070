"""Where weights come from: a local directory, the local hub cache, or a download.

Every adapter loads through ``load_local_only`` so that a cached model never touches the network
and a missing one fails in seconds with the command that fetches it (transformers itself retries
for minutes when the hub cannot be reached).
"""

from __future__ import annotations

import shlex
from pathlib import Path

from core.engines.types import ModelUnavailable
from core.settings import Settings


def download_command(model_id: str, settings: Settings) -> str:
    return f"hf download {shlex.quote(model_id)} --cache-dir {shlex.quote(str(settings.hub_cache_dir))}"


def looks_like_path(source: str) -> bool:
    return source.startswith(("/", "./", "../", "~")) or Path(source).exists()


def is_cached(model_id: str, settings: Settings) -> bool:
    from huggingface_hub import try_to_load_from_cache

    found = try_to_load_from_cache(model_id, "config.json", cache_dir=str(settings.hub_cache_dir))
    return isinstance(found, str)


def load_local_only(source: str, settings: Settings) -> bool:
    """Whether to load with ``local_files_only``; raise :class:`ModelUnavailable` when it cannot be had."""
    if looks_like_path(source):
        if not Path(source).expanduser().is_dir():
            raise ModelUnavailable(f"no directory {source}", model=source, cache_dir=source, command="")
        return True
    if is_cached(source, settings):
        return True
    unavailable = ModelUnavailable(
        f"{source} is not in {settings.hub_cache_dir}",
        model=source,
        cache_dir=str(settings.hub_cache_dir),
        command=download_command(source, settings),
    )
    if settings.offline:
        raise unavailable
    _probe_hub(source, settings, unavailable)
    return False


def _probe_hub(model_id: str, settings: Settings, unavailable: ModelUnavailable) -> None:
    """One quick request: is the hub reachable and does it know this model?"""
    from huggingface_hub import HfApi

    try:
        HfApi(token=str(settings.hf_token) or None).model_info(model_id, timeout=10)
    except Exception as error:  # noqa: BLE001 - network, auth and not-found errors all mean "cannot download"
        raise unavailable from error
