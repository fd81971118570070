"""Model families: one module each (adapter, model types, abilities, prompts, output parser).

Adding a family is one module with a ``FAMILY`` object, listed here, plus its tests.
"""

from __future__ import annotations

from core.families import (
    docling,
    florence2,
    gemma4,
    glm_ocr,
    internvl,
    lfm2_vl,
    lighton_ocr,
    paddleocr_vl,
    qwen2_5_vl,
    qwen3_5,
    qwen3_vl,
    smolvlm,
    tesseract,
)
from core.families.base import CannotGround, Family

FAMILIES: dict[str, Family] = {
    module.FAMILY.name: module.FAMILY
    for module in (
        smolvlm,
        qwen2_5_vl,
        qwen3_vl,
        qwen3_5,
        internvl,
        lfm2_vl,
        gemma4,
        florence2,
        docling,
        tesseract,
        glm_ocr,
        paddleocr_vl,
        lighton_ocr,
    )
}


def family_named(name: str) -> Family:
    return FAMILIES[name]


__all__ = ["FAMILIES", "CannotGround", "Family", "family_named"]
