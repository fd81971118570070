"""Which models the app knows, what each can do, and which family's adapter runs it.

The catalogue and the model types come from the family modules (``core.families``). Creating an
engine reads no weights: only the serving pool loads them.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from core.engines.base import Engine
from core.engines.types import ModelCard, UnknownModel
from core.families import FAMILIES, Family
from core.settings import Settings

CATALOGUE: tuple[ModelCard, ...] = tuple(card for family in FAMILIES.values() for card in family.catalogue)


def family_of(card: ModelCard) -> Family:
    return FAMILIES[card.family]


def find_card(model_id: str) -> ModelCard:
    """The catalogue entry for ``model_id``, or a card worked out from a local config.json or the name."""
    for card in CATALOGUE:
        if card.model_id == model_id:
            return card
    family = _family_from_config(Path(model_id).expanduser() / "config.json")
    lowered = model_id.lower()
    if family is None:
        family = next((f for f in FAMILIES.values() if any(hint in lowered for hint in f.name_hints)), None)
    if family is None:
        raise UnknownModel(f"cannot tell which adapter runs {model_id}", model=model_id)
    title = Path(model_id).name if Path(model_id).expanduser().is_dir() else model_id.split("/")[-1]
    return family.card_for(model_id, title)


def _family_from_config(config_path: Path) -> Family | None:
    if not config_path.is_file():
        return None
    try:
        model_type = str(json.loads(config_path.read_text(encoding="utf-8")).get("model_type", ""))
    except (OSError, ValueError):
        return None
    return next((family for family in FAMILIES.values() if model_type in family.model_types), None)


def create_engine(model_id: str, settings: Settings) -> Engine:
    """The engine for ``model_id``: a served model when ENGINE=openai names it, else a local one."""
    if settings.engine == "openai" and model_id in settings.openai_models:
        from core.engines.remote import OpenAICompatEngine

        card = find_card(model_id)
        return OpenAICompatEngine(replace(card, title=f"{card.title} (server)"), settings)
    card = find_card(model_id)
    return family_of(card).engine(card, settings)


def choices(active: str, extra: tuple[str, ...] = (), *, remote_only: bool = False) -> list[str]:
    """Model ids to offer in the picker: the active one first, then ``extra``, then the catalogue.

    ``remote_only``: a dashboard on a server offers only what the server serves (given as ``extra``).
    """
    ids = [active]
    catalogue = (card.model_id for card in CATALOGUE if FAMILIES[card.family].in_picker)
    for model_id in (*extra, *(() if remote_only else catalogue)):
        if model_id not in ids:
            ids.append(model_id)
    return ids
