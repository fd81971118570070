"""Which models the app knows, what each can do, and which adapter runs it.

Weights load lazily: creating an engine reads no files; ``Engine.load`` does.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from core.engines.base import Engine
from core.engines.types import Capability, ModelCard, UnknownModel
from core.settings import Settings

_SMOLVLM_ABILITIES = frozenset({Capability.CHAT, Capability.VIDEO, Capability.OCR, Capability.REGION})
_GROUNDING_CHAT = frozenset({Capability.CHAT, Capability.OCR, Capability.REGION, Capability.GROUNDING})
_FLORENCE_ABILITIES = frozenset({Capability.OCR, Capability.REGION, Capability.GROUNDING})

CATALOGUE: tuple[ModelCard, ...] = (
    ModelCard("HuggingFaceTB/SmolVLM2-2.2B-Instruct", "smolvlm", "SmolVLM2 2.2B", 2250, _SMOLVLM_ABILITIES, 384),
    ModelCard(
        "HuggingFaceTB/SmolVLM2-500M-Video-Instruct", "smolvlm", "SmolVLM2 500M Video", 507, _SMOLVLM_ABILITIES, 512
    ),
    ModelCard(
        "HuggingFaceTB/SmolVLM2-256M-Video-Instruct", "smolvlm", "SmolVLM2 256M Video", 256, _SMOLVLM_ABILITIES, 512
    ),
    ModelCard("florence-community/Florence-2-base", "florence2", "Florence-2 base", 230, _FLORENCE_ABILITIES),
    ModelCard("florence-community/Florence-2-large", "florence2", "Florence-2 large", 770, _FLORENCE_ABILITIES),
    ModelCard("Qwen/Qwen2.5-VL-3B-Instruct", "qwen2_5_vl", "Qwen2.5-VL 3B", 3750, _GROUNDING_CHAT),
    ModelCard("OpenGVLab/InternVL3_5-1B-HF", "internvl", "InternVL3.5 1B", 1060, _GROUNDING_CHAT),
)

# model_type in config.json -> family, for local directories and ids outside the catalogue.
_MODEL_TYPES = {
    "smolvlm": "smolvlm",
    "idefics3": "smolvlm",
    "qwen2_5_vl": "qwen2_5_vl",
    "internvl": "internvl",
    "florence2": "florence2",
}
_FAMILY_ABILITIES = {
    "smolvlm": _SMOLVLM_ABILITIES,
    "qwen2_5_vl": _GROUNDING_CHAT,
    "internvl": _GROUNDING_CHAT,
    "florence2": _FLORENCE_ABILITIES,
}


def _adapter(family: str) -> Callable[..., Engine]:
    # Imported on demand: each adapter pulls in torch and transformers.
    if family == "smolvlm":
        from core.engines.smolvlm import SmolVLMEngine

        return SmolVLMEngine
    if family == "qwen2_5_vl":
        from core.engines.qwen import Qwen25VLEngine

        return Qwen25VLEngine
    if family == "internvl":
        from core.engines.qwen import InternVLEngine

        return InternVLEngine
    if family == "florence2":
        from core.engines.florence2 import Florence2Engine

        return Florence2Engine
    raise UnknownModel(family, model=family)


def find_card(model_id: str) -> ModelCard:
    """The catalogue entry for ``model_id``, or a card worked out from a local config.json or the name."""
    for card in CATALOGUE:
        if card.model_id == model_id:
            return card
    family = _family_from_config(Path(model_id).expanduser() / "config.json")
    lowered = model_id.lower()
    for hint, name in (("smolvlm", "smolvlm"), ("qwen2.5-vl", "qwen2_5_vl"), ("internvl", "internvl"),
                       ("florence-2", "florence2")):  # fmt: skip
        if family is None and hint in lowered:
            family = name
    if family is None:
        raise UnknownModel(f"cannot tell which adapter runs {model_id}", model=model_id)
    title = Path(model_id).name if Path(model_id).expanduser().is_dir() else model_id.split("/")[-1]
    return ModelCard(model_id, family, title, None, _FAMILY_ABILITIES[family])


def _family_from_config(config_path: Path) -> str | None:
    if not config_path.is_file():
        return None
    try:
        model_type = json.loads(config_path.read_text(encoding="utf-8")).get("model_type", "")
    except (OSError, ValueError):
        return None
    return _MODEL_TYPES.get(str(model_type))


def create_engine(model_id: str, settings: Settings) -> Engine:
    card = find_card(model_id)
    return _adapter(card.family)(card, settings)


def choices(active: str, extra: tuple[str, ...] = ()) -> list[str]:
    """Model ids to offer in the picker: the active one first, then local extras, then the catalogue."""
    ids = [active]
    for model_id in (*extra, *(card.model_id for card in CATALOGUE)):
        if model_id not in ids:
            ids.append(model_id)
    return ids
