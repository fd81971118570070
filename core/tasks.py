"""Prompts and conversation plumbing per task. Pages call these; they never build prompts themselves."""

from __future__ import annotations

from dataclasses import dataclass, field

from PIL import Image

from core.boxes import Box, crop_with_margin
from core.engines.types import (
    Capability,
    ChatMessage,
    GenerationRequest,
    GenerationStats,
    ModelCard,
    Role,
    SamplingParams,
    VideoClip,
)
from core.registry import family_of
from core.user_text import MAX_QUESTION_CHARS, clean_text, neutralise, prompt_text

# One-click chat prompts, sent in the UI language so the answer comes back in it.
QUICK_PROMPTS: dict[str, dict[str, str]] = {
    "brief_video": {
        "en": "Describe this video briefly, in one or two sentences.",
        "ru": "Кратко опиши это видео, в одном-двух предложениях.",
    },
    "detailed_video": {
        "en": "Describe this video in detail: what happens, in what order, who and what is in it.",
        "ru": "Подробно опиши это видео: что происходит и в каком порядке, кто и что в кадре.",
    },
    "brief": {
        "en": "Describe this image briefly, in one or two sentences.",
        "ru": "Кратко опиши это изображение, в одном-двух предложениях.",
    },
    "detailed": {
        "en": "Describe this image in detail: the objects, people, text, colours and setting.",
        "ru": "Подробно опиши это изображение: объекты, людей, текст, цвета и обстановку.",
    },
}

# A conversation's tile budget: small on a CPU (each tile costs the vision encoder about a second
# there), the model's full default on a GPU. OCR and region crops have their own budgets.
CHAT_TILES_CPU = 4
CHAT_TILES_GPU = 16


def default_chat_tiles(device: str) -> int:
    return CHAT_TILES_CPU if device == "cpu" else CHAT_TILES_GPU


def quick_prompt(kind: str, language: str) -> str:
    texts = QUICK_PROMPTS[kind]
    return texts.get(language, texts["en"])


def clean_question(text: str | None) -> str:
    """The question as the history shows it; raise :class:`InvalidInput` for empty or oversized input.

    It enters the prompt through :meth:`ChatHistory.request_for`, which makes it plain text.
    """
    return clean_text(text, MAX_QUESTION_CHARS, empty_key="chat.empty_question")


@dataclass
class ChatTurn:
    """One entry of a chat history as the UI keeps it."""

    role: Role
    text: str
    stopped: bool = False
    error: str | None = None
    stats: GenerationStats | None = None
    from_app: bool = False  # a prompt the app wrote (a region task), sent as it is; typed text never is


@dataclass
class ChatHistory:
    """A conversation about one image; the image is attached to the first user message only."""

    media_digest: str
    turns: list[ChatTurn] = field(default_factory=list)

    def request_for(
        self,
        question: str,
        sampling: SamplingParams,
        max_tiles: int | None,
        images: tuple[Image.Image, ...] = (),
        videos: tuple[VideoClip, ...] = (),
        *,
        from_app: bool = False,
        task: str = "chat",
    ) -> GenerationRequest:
        """The request that asks ``question`` after the turns so far (failed answers are left out).

        The media go with the first user message, so follow-up questions do not repeat them. Every
        text but the app's own prompts goes through :mod:`core.user_text`, the model's answers too.
        """
        messages: list[ChatMessage] = []
        for turn in self.turns:
            if turn.error is not None or (turn.role is Role.ASSISTANT and not turn.text):
                continue
            # the model's own earlier answers too: a random or hijacked model may have written "<image>"
            messages.append(ChatMessage(turn.role, turn.text if turn.from_app else neutralise(turn.text)))
        messages.append(ChatMessage(Role.USER, question if from_app else prompt_text(question, MAX_QUESTION_CHARS)))
        messages = _drop_unanswered(messages)
        first = messages[0]
        messages[0] = ChatMessage(first.role, first.text, images, videos)
        # One conversation about one medium: its prefix's KV cache is kept for the next question.
        return GenerationRequest(tuple(messages), sampling, max_tiles, reuse_prefix=True, task=task)


def _drop_unanswered(messages: list[ChatMessage]) -> list[ChatMessage]:
    """Templates expect user/assistant alternation: of two messages in a row from one role, keep the later.

    That happens when a question got no answer (it failed, or was stopped before the first word).
    """
    kept: list[ChatMessage] = []
    for message in messages:
        if kept and kept[-1].role is message.role:
            kept.pop()
        kept.append(message)
    return kept


# Region description: the whole picture for context, then the close-up, then the question.
_REGION_PROMPTS = {
    "en": (
        "The first image is a whole picture of {width}x{height} pixels. The second image is a close-up of the "
        "region x1,y1,x2,y2 = {box} of that picture. What is the object in the close-up? Describe it briefly."
    ),
    "ru": (
        "Первое изображение — вся картинка размером {width}x{height} пикселей. Второе — крупный план области "
        "x1,y1,x2,y2 = {box} этой картинки. Что за объект на крупном плане? Кратко опиши его."
    ),
}


def region_prompt(box_text: str, width: int, height: int, language: str) -> str:
    template = _REGION_PROMPTS.get(language, _REGION_PROMPTS["en"])
    return template.format(box=box_text, width=width, height=height)


@dataclass(frozen=True)
class RegionPlan:
    """How a region is put to a model: what it sees, the first question, and whether follow-ups make sense."""

    crop: Image.Image  # the box with a margin, shown to the user either way
    images: tuple[Image.Image, ...]
    question: str
    follow_ups: bool


def plan_region(card: ModelCard, image: Image.Image, box: Box, language: str) -> RegionPlan:
    """The family's own region task when it has one (the box in its coordinates), else a crop with context."""
    crop = image.crop(crop_with_margin(box, image.width, image.height).as_tuple())
    follow_ups = card.can(Capability.CHAT)
    native = family_of(card).native_region_prompt(box, image.width, image.height)
    if native is not None:
        return RegionPlan(crop, (image,), native, follow_ups)
    question = region_prompt(box.as_text(), image.width, image.height, language)
    return RegionPlan(crop, (image, crop), question, follow_ups)
