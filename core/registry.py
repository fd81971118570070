"""Which models the app knows, what each can do, and which family's adapter runs it.

The catalogue and the model types come from the family modules (``core.families``). Creating an
engine reads no weights: only the serving pool loads them.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from core.engines.base import Engine
from core.engines.remote import OpenAICompatEngine
from core.engines.types import Capability, ModelCard, UnknownModel
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
    lowered = model_id.lower()
    named = next((f for f in FAMILIES.values() if any(hint in lowered for hint in f.name_hints)), None)
    claimed = _families_from_config(Path(model_id).expanduser() / "config.json")
    # Several families share a model type (SmolVLM and the Docling converters are all idefics3): the name decides.
    family = named if named in claimed else (claimed[0] if claimed else named)
    if family is None:
        raise UnknownModel(f"cannot tell which adapter runs {model_id}", model=model_id)
    title = Path(model_id).name if Path(model_id).expanduser().is_dir() else model_id.split("/")[-1]
    return family.card_for(model_id, title)


def _families_from_config(config_path: Path) -> list[Family]:
    """The families that run the ``model_type`` in ``config_path``, in the order FAMILIES lists them."""
    if not config_path.is_file():
        return []
    try:
        model_type = str(json.loads(config_path.read_text(encoding="utf-8")).get("model_type", ""))
    except (OSError, ValueError):
        return []
    return [family for family in FAMILIES.values() if model_type in family.model_types]


def create_engine(model_id: str, settings: Settings) -> Engine:
    """The engine for ``model_id``: a served model when ENGINE=openai names it, else a local one."""
    if settings.engine == "openai" and model_id in settings.openai_models:
        card = find_card(model_id)
        return OpenAICompatEngine(replace(card, title=f"{card.title} (server)"), settings, family_of(card))
    card = find_card(model_id)
    return family_of(card).engine(card, settings)


def converters(settings: Settings) -> list[str]:
    """Models that convert pages to documents: the configured one (DOCLING_MODEL) first, then those of
    EXTRA_MODEL_IDS that convert, then the catalogue's."""
    ids = [settings.docling_model]
    extra = (card for model_id in settings.extra_model_ids if (card := _card_or_none(model_id)) is not None)
    for card in (*extra, *CATALOGUE):
        if card.can(Capability.CONVERT) and card.model_id not in ids:
            ids.append(card.model_id)
    return ids


def program_cards() -> list[ModelCard]:
    """Engines that are programs rather than models (named by ``engine:`` in a Lab entry)."""
    return [card for card in CATALOGUE if FAMILIES[card.family].program]


def _card_or_none(model_id: str) -> ModelCard | None:
    try:
        return find_card(model_id)
    except UnknownModel:
        return None


def ocr_specialists(extra: tuple[str, ...] = ()) -> list[ModelCard]:
    """OCR engines offered beside the session's model: programs and OCR-only models, catalogue order, then
    those of ``extra`` (local folders, other hub ids) whose family is one."""
    cards = [card for card in CATALOGUE if FAMILIES[card.family].ocr_specialist]
    for model_id in extra:
        card = _card_or_none(model_id)
        if card is not None and FAMILIES[card.family].ocr_specialist and card not in cards:
            cards.append(card)
    return cards


def _in_picker(model_id: str) -> bool:
    """Whether a model id may be a session's model (an id no family claims is offered: loading will say why)."""
    card = _card_or_none(model_id)
    return card is None or FAMILIES[card.family].in_picker


def choices(active: str, extra: tuple[str, ...] = (), *, remote_only: bool = False) -> list[str]:
    """Model ids to offer in the picker: the active one first, then ``extra``, then the catalogue.

    ``remote_only``: a dashboard on a server offers only what the server serves (given as ``extra``).
    """
    ids = [active]
    catalogue = (card.model_id for card in CATALOGUE if FAMILIES[card.family].in_picker)
    for model_id in (*(model_id for model_id in extra if _in_picker(model_id)), *(() if remote_only else catalogue)):
        if model_id not in ids:
            ids.append(model_id)
    return ids
