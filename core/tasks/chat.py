"""Chat: a conversation about one medium. The history builds each request; an outcome becomes a turn."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from PIL import Image

from core import i18n
from core.engines.types import (
    Capability,
    ChatMessage,
    EngineError,
    GenerationRequest,
    GenerationStats,
    Role,
    SamplingParams,
    VideoClip,
)
from core.families import Family
from core.serving import JobOutcome
from core.user_text import MAX_QUESTION_CHARS, clean_text, neutralise, prompt_text

# One-click prompts, sent in the UI language so the answer comes back in it. Their texts are strings
# of the catalogue (``prompt.<kind>``): the UI looks them up, the request carries the text.
QUICK_PROMPT_KINDS = ("brief", "detailed", "brief_video", "detailed_video")

# A conversation's tile budget: small on a CPU (each tile costs the vision encoder about a second
# there), the model's full default on a GPU.
CHAT_TILES_CPU = 4
CHAT_TILES_GPU = 16


def default_chat_tiles(device: str) -> int:
    return CHAT_TILES_CPU if device == "cpu" else CHAT_TILES_GPU


def tiles_per_picture(max_tiles: int, pictures: int) -> int:
    """A question about several pictures shares the tile budget among them (at least one tile each)."""
    return max(1, max_tiles // pictures) if pictures > 1 else max_tiles


def clean_question(text: str | None) -> str:
    """The question as the history shows it; raise :class:`InvalidInput` for empty or oversized input.

    It enters the prompt through :meth:`ChatHistory.request_for`, which makes it plain text.
    """
    return clean_text(text, MAX_QUESTION_CHARS, empty_key="chat.empty_question")


@dataclass
class ChatTurn:
    """One entry of a chat history. ``error`` is the failure itself: the UI words it in the reader's language."""

    role: Role
    text: str
    stopped: bool = False
    error: EngineError | None = None
    stats: GenerationStats | None = None
    from_app: bool = False  # a prompt the app wrote (a region task), sent as it is; typed text never is
    looped: bool = False  # the repetition guard stopped it: its text ends where the loop began
    interrupted: bool = False  # the server stopped while writing it: the text is what had been shown


@dataclass(frozen=True)
class ChatParams:
    """How one question is asked: decoding, the tile budget, the media, and who wrote the question."""

    sampling: SamplingParams
    max_tiles: int | None
    images: tuple[Image.Image, ...] = ()
    videos: tuple[VideoClip, ...] = ()
    from_app: bool = False  # a prompt the app wrote (a region task) goes as it is; typed text never does
    task: str = "chat"  # names the request in the log
    repetition_guard: bool = False  # stop an answer that falls into a loop (a setting in chat)


def build(family: Family, history: ChatHistory, question: str, params: ChatParams) -> GenerationRequest:
    """The request that asks ``question`` after ``history``, and the question recorded in it.

    A family that does not take video is told so here, before a request it cannot run is queued.
    """
    if params.videos and not family.abilities & {Capability.VIDEO}:
        raise ValueError(f"the {family.name} family does not take video")
    request = history.request_for(question, params.sampling, params.max_tiles, params.images, params.videos,
                                  from_app=params.from_app, task=params.task)  # fmt: skip
    request = replace(request, repetition_guard=params.repetition_guard)
    history.ask(question, from_app=params.from_app)
    return request


def parse(outcome: JobOutcome) -> ChatTurn:
    """The answer turn an outcome makes: its text (what arrived before a failure or a Stop is kept)."""
    return ChatTurn(Role.ASSISTANT, outcome.text.strip(), outcome.stopped, outcome.error, outcome.stats,
                    looped=outcome.looped)  # fmt: skip


@dataclass
class ChatHistory:
    """A conversation about one image; the image is attached to the first user message only."""

    media_digest: str
    turns: list[ChatTurn] = field(default_factory=list)
    record_id: str | None = None  # the history's id for it, once stored

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

    def ask(self, question: str, *, from_app: bool = False) -> None:
        """Record the question (after :meth:`request_for` made its request)."""
        self.turns.append(ChatTurn(Role.USER, question, from_app=from_app))

    def record(self, outcome: JobOutcome) -> ChatTurn:
        """Record the answer ``outcome`` makes, whatever way it ended."""
        turn = parse(outcome)
        self.turns.append(turn)
        return turn


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


def quick_prompt(kind: str, language: str) -> str:
    """A one-click prompt (``brief``, ``detailed``, ``brief_video``, ``detailed_video``) in ``language``."""
    if kind not in QUICK_PROMPT_KINDS:
        raise ValueError(f"no quick prompt {kind!r}")
    return i18n.text(f"prompt.{kind}", language)
