"""Region: what is inside a box. The whole picture for context, then a close-up, then the question; or the
family's own region task with the box in its coordinates. Follow-ups go through the chat history."""

from __future__ import annotations

from dataclasses import dataclass

from PIL import Image

from core import i18n
from core.boxes import Box, crop_with_margin
from core.engines.types import Capability, GenerationRequest, ModelCard, SamplingParams
from core.families import Family
from core.tasks import chat
from core.tasks.chat import ChatHistory, ChatParams

NEEDS = Capability.REGION


def region_prompt(box_text: str, width: int, height: int, language: str) -> str:
    return i18n.text("prompt.region", language, box=box_text, width=width, height=height)


@dataclass(frozen=True)
class RegionPlan:
    """How a region is put to a model: what it sees, the first question, and whether follow-ups make sense."""

    crop: Image.Image  # the box with a margin, shown to the user either way
    images: tuple[Image.Image, ...]
    question: str
    follow_ups: bool


def plan_region(family: Family, card: ModelCard, image: Image.Image, box: Box, language: str) -> RegionPlan:
    """The family's own region task when it has one (the box in its coordinates), else a crop with context."""
    crop = image.crop(crop_with_margin(box, image.width, image.height).as_tuple())
    follow_ups = card.can(Capability.CHAT)
    native = family.native_region_prompt(box, image.width, image.height)
    if native is not None:
        return RegionPlan(crop, (image,), native, follow_ups)
    question = region_prompt(box.as_text(), image.width, image.height, language)
    return RegionPlan(crop, (image, crop), question, follow_ups)


@dataclass
class RegionConversation:
    """A conversation about one box of one picture: the plan says what the model sees each time."""

    media_digest: str
    box: Box
    plan: RegionPlan
    history: ChatHistory

    @classmethod
    def start(
        cls, family: Family, card: ModelCard, image: Image.Image, digest: str, box: Box, language: str
    ) -> RegionConversation:
        plan = plan_region(family, card, image, box, language)
        return cls(digest, box, plan, ChatHistory(f"{digest}:{box.as_text()}"))

    def about(self, media_digest: str, box: Box) -> bool:
        return (self.media_digest, self.box) == (media_digest, box)


def build(
    family: Family,
    conversation: RegionConversation,
    question: str | None,
    sampling: SamplingParams,
    max_tiles: int | None,
) -> GenerationRequest:
    """The plan's own question (``question`` None) or a follow-up, about what the plan shows the model."""
    plan = conversation.plan
    params = ChatParams(sampling, max_tiles, plan.images, from_app=question is None, task="region")
    return chat.build(family, conversation.history, plan.question if question is None else question, params)


parse = chat.parse  # the answer is a chat turn
