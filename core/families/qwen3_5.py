"""Qwen3.5: natively multimodal small models (0.8B to 9B) that chat, read and ground like Qwen3-VL.

Format facts and where they come from:
- Classes: transformers' ``models/qwen3_5`` (``Qwen3_5ForConditionalGeneration``; a hybrid decoder of Gated
  DeltaNet and full-attention layers); its processor is Qwen3-VL's (``processing_auto`` maps ``qwen3_5`` to
  ``Qwen3VLProcessor``, with Qwen2-VL's image processor on 16 px patches merged 2 x 2 and Qwen3-VL's video
  processor), so pictures reach it exactly as they reach Qwen3-VL.
- Thinking: its chat template opens a ``<think>`` block unless ``enable_thinking=False`` is passed (the model
  card's "non-thinking mode"); the dashboard wants the answer, so thinking is off (the template then closes an
  empty block itself).
- Grounding: Qwen3-VL's relative 0-1000 ``bbox_2d`` JSON, which Qwen's material describes for Qwen3-VL and 3.5
  alike (a third-party summary of the Qwen3-VL cookbooks says so for both; no Qwen3.5 grounding sample was
  reachable here, so this is the first fact a person with the weights should check).

- Video: Qwen3-VL's video processor and timestamps, as for Qwen3-VL.

Not here: prefix reuse (its linear-attention layers keep a recurrent state, not a key/value prefix that can
be cut and reused).
"""

from __future__ import annotations

from core.engines.types import Capability, ModelCard
from core.families.base import THINKING_OFF
from core.families.qwen3_vl import Qwen3VL, Qwen3VLEngine
from core.settings import Settings

ABILITIES = frozenset({Capability.CHAT, Capability.OCR, Capability.REGION, Capability.GROUNDING, Capability.VIDEO})


class Qwen35Engine(Qwen3VLEngine):
    family = "qwen3_5"
    template_kwargs = THINKING_OFF


class Qwen35(Qwen3VL):
    chat_template_kwargs = THINKING_OFF
    name = "qwen3_5"
    model_types = ("qwen3_5",)
    name_hints = ("qwen3.5", "qwen3_5")
    abilities = ABILITIES
    catalogue = (
        ModelCard("Qwen/Qwen3.5-0.8B", name, "Qwen3.5 0.8B", 800, ABILITIES),
        ModelCard("Qwen/Qwen3.5-2B", name, "Qwen3.5 2B", 2000, ABILITIES),
        ModelCard("Qwen/Qwen3.5-4B", name, "Qwen3.5 4B", 4000, ABILITIES),
    )

    def engine(self, card: ModelCard, settings: Settings) -> Qwen35Engine:
        return Qwen35Engine(card, settings)


FAMILY = Qwen35()
