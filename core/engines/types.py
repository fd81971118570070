"""Plain data passed between pages, tasks and engines. No torch here, so any layer can import it."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from PIL import Image

from core.boxes import Box


class Role(StrEnum):
    USER = "user"
    ASSISTANT = "assistant"


class Capability(StrEnum):
    CHAT = "chat"
    VIDEO = "video"
    OCR = "ocr"
    REGION = "region"
    GROUNDING = "grounding"
    CONVERT = "convert"  # a page to a structured document (DocTags -> Markdown)


@dataclass(frozen=True)
class VideoClip:
    """Frames already sampled from a video, with when each was taken, as the model will see them."""

    frames: tuple[Image.Image, ...]
    timestamps: tuple[float, ...]  # seconds from the start, one per frame
    duration_s: float

    def __post_init__(self) -> None:
        if not self.frames or len(self.frames) != len(self.timestamps):
            raise ValueError("a clip needs at least one frame and one timestamp per frame")


def format_timestamp(seconds: float) -> str:
    """``m:ss`` (or ``h:mm:ss``) for a frame caption."""
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


@dataclass(frozen=True)
class ChatMessage:
    role: Role
    text: str
    images: tuple[Image.Image, ...] = ()
    videos: tuple[VideoClip, ...] = ()


@dataclass(frozen=True)
class SamplingParams:
    max_new_tokens: int = 256
    do_sample: bool = False
    temperature: float = 0.7
    top_p: float = 0.9

    def __post_init__(self) -> None:
        if self.max_new_tokens < 1:
            raise ValueError("max_new_tokens must be at least 1")
        if self.do_sample and not (0.0 < self.temperature <= 2.0):
            raise ValueError("temperature must be in (0, 2]")
        if self.do_sample and not (0.0 < self.top_p <= 1.0):
            raise ValueError("top_p must be in (0, 1]")

    def generate_kwargs(self) -> dict[str, object]:
        if not self.do_sample:
            return {"max_new_tokens": self.max_new_tokens, "do_sample": False}
        return {
            "max_new_tokens": self.max_new_tokens,
            "do_sample": True,
            "temperature": self.temperature,
            "top_p": self.top_p,
        }


@dataclass(frozen=True)
class GenerationRequest:
    """One model call: the conversation so far (last message is the user's) and how to decode.

    ``max_tiles`` bounds how many image tiles the vision encoder sees; None means the model's default.
    """

    messages: tuple[ChatMessage, ...]
    sampling: SamplingParams = field(default_factory=SamplingParams)
    max_tiles: int | None = None
    keep_special_tokens: bool = False  # grounding answers carry their coordinates in special tokens
    reuse_prefix: bool = False  # a conversation about one medium: keep its prefix's KV cache for the next turn
    task: str = "chat"  # what asked for it (chat, video, region, ocr, detection, lab.*): for the request log
    json_schema: str | None = None  # the answer must be JSON valid under this schema (JSON text): decoded under it
    repetition_guard: bool = False  # stop the answer when it falls into a loop (core.serving.repetition)

    def __post_init__(self) -> None:
        if not self.messages or self.messages[-1].role is not Role.USER:
            raise ValueError("a request must end with a user message")


@dataclass(frozen=True)
class ModelCard:
    """What the UI shows about a model and what it can do, before any weights are loaded."""

    model_id: str
    family: str
    title: str
    params_millions: int | None
    capabilities: frozenset[Capability]
    tile_px: int | None = None  # side of one vision tile, for explaining the tile budget
    licence: str | None = None  # shown in the picker where it is not a plain open-source licence

    def can(self, capability: Capability) -> bool:
        return capability in self.capabilities


REMOTE_DEVICE = "remote"  # RuntimeInfo.device of a model served by another process


@dataclass(frozen=True)
class RuntimeInfo:
    device: str
    dtype: str
    device_note: str | None = None  # e.g. why cuda was asked for but cpu is used
    quantization: str = "none"  # "int8": linear layers hold int8 weights (CPU)
    placement: str | None = None  # where the weights are, when not simply on ``device``: a server, several GPUs


@dataclass(frozen=True)
class OcrWord:
    text: str
    box: Box
    confidence: float  # 0-100, Tesseract's own
    line: int  # index into OcrPage.lines


@dataclass(frozen=True)
class OcrLine:
    text: str
    box: Box
    confidence: float  # the mean of its words'


@dataclass
class OcrPage:
    """An OCR program's layout, given beside its text: words and lines in original pixels, and the text they
    make (lines in reading order, blocks apart)."""

    width: int
    height: int
    words: list[OcrWord] = field(default_factory=list)
    lines: list[OcrLine] = field(default_factory=list)
    text: str = ""


@dataclass
class GenerationStats:
    prompt_tokens: int = 0
    new_tokens: int = 0
    image_tiles: int = 0
    image_tokens: int = 0  # placeholders of image (or video) tokens in the prompt: what the pictures cost
    reused_prompt_tokens: int = 0  # taken from this session's cached media prefix instead of recomputed
    seconds_to_first_token: float | None = None
    seconds_total: float = 0.0
    stopped: bool = False

    @property
    def tokens_per_second(self) -> float | None:
        """Decoding speed after the first token (which mostly measures the image encoder)."""
        if self.new_tokens < 2 or self.seconds_to_first_token is None:
            return None
        decode_time = self.seconds_total - self.seconds_to_first_token
        return (self.new_tokens - 1) / decode_time if decode_time > 0 else None


class EngineError(RuntimeError):
    """Base for errors the UI shows as a message: ``key`` and ``params`` feed the strings table."""

    key = "engine.failed"

    def __init__(self, detail: str = "", **params: object) -> None:
        self.params = params
        super().__init__(detail or self.key)


class ModelUnavailable(EngineError):
    key = "model.missing"


class UnknownModel(EngineError):
    key = "model.unknown"


class GenerationFailed(EngineError):
    """The model raised while generating; ``error_id`` (when set) names the log line with its traceback."""

    key = "engine.failed"


class OutOfMemory(EngineError):
    """Generation ran out of memory; the request's memory is freed and the model serves the next one."""

    key = "engine.out_of_memory"


class PromptTooLong(EngineError):
    """The conversation no longer fits the model's context window."""

    key = "prompt.too_long"


class ModelTooLarge(EngineError):
    """The model cannot fit the memory budget even with every other model unloaded."""

    key = "model.too_large"


class ServerBusy(EngineError):
    """The queue is full: the request is refused at once instead of waiting without end."""

    key = "queue.full"


class TooManyWaiting(ServerBusy):
    """One person already has MAX_QUEUED_PER_USER requests waiting (from other tabs): this one is refused."""

    key = "queue.user_limit"


class EngineNotLoaded(RuntimeError):
    """A programming error: only the serving pool loads weights, and it streams only from loaded engines."""
