"""An engine that talks to an OpenAI-compatible chat-completions server: vLLM, llama.cpp's server, Ollama.

The server batches many requests, so the serving core keeps such a model "resident" at no memory
cost and lets ``REMOTE_PARALLEL`` requests run on it at once. What stays ours: the prompts, the
pixel budget (images are resized here, under the same tile budget as a local run, and sent as data
URLs), the family's output parsers, and the messages a person sees when the server says no.

The official ``openai`` client does the HTTP: streaming, timeouts (``REMOTE_TIMEOUT_S``), retries on
429 and 5xx with the server's Retry-After, and ``extra_body`` for vLLM's own parameters. A Stop closes
the connection, which vLLM takes as a cancelled request. (A Stop while the client sleeps before a
retry takes effect when that sleep ends.)
"""

from __future__ import annotations

import base64
import io
import json
import threading
import time
from dataclasses import dataclass
from typing import Any, Protocol

from PIL import Image

from core.engines.base import ProgressCallback, WeightlessEngine
from core.engines.prefix import PrefixSlot
from core.engines.streaming import Emit, RunnableStream
from core.engines.types import (
    REMOTE_DEVICE,
    ChatMessage,
    EngineError,
    EngineNotLoaded,
    GenerationRequest,
    GenerationStats,
    ModelCard,
    OcrPage,
    Role,
    RuntimeInfo,
    format_timestamp,
)
from core.settings import Settings

RETRIES = 3  # on 429 and 5xx (the server is busy or still starting), after the server's Retry-After


class RemoteError(EngineError):
    """The server refused or failed; ``key`` says how, ``params`` carry the server and the model."""

    key = "remote.failed"


class RemoteUnauthorized(RemoteError):
    key = "remote.unauthorized"


class RemoteModelMissing(RemoteError):
    key = "remote.model_missing"


class RemoteUnreachable(RemoteError):
    key = "remote.unreachable"


class RemoteBusy(RemoteError):
    key = "remote.busy"


class RemoteDropped(RemoteError):
    """The connection ended before the answer did; the text received so far is kept."""

    key = "remote.dropped"


# A picture sent by a family without a tile budget of its own (its boxes are 0-1000, so size is free).
REMOTE_LONGEST_EDGE = 1024


@dataclass(frozen=True)
class RemoteImage:
    image: Image.Image
    input_size: tuple[int, int] | None  # (width, height) the server's model will see, when it matters


def shrink_to_edge(image: Image.Image, longest_edge: int) -> Image.Image:
    """``image`` with its longest side at most ``longest_edge`` (never enlarged)."""
    if max(image.size) <= longest_edge:
        return image
    scale = longest_edge / max(image.size)
    return image.resize(
        (max(1, round(image.width * scale)), max(1, round(image.height * scale))), Image.Resampling.BICUBIC
    )


class ImagePolicy(Protocol):
    """What a family tells the request to a server (its family object): how to size a picture, within the
    budget a local run uses, and the switches its chat template takes."""

    chat_template_kwargs: dict[str, object]

    def remote_image(self, image: Image.Image, max_tiles: int | None, card: ModelCard) -> RemoteImage: ...


def data_url(image: Image.Image) -> str:
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, "PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _client(settings: Settings, *, retries: int = RETRIES, timeout_s: float | None = None) -> Any:
    import openai

    return openai.OpenAI(
        base_url=settings.openai_base_url,
        api_key=str(settings.openai_api_key) or "not-needed",  # servers without a key take any
        timeout=openai.Timeout(timeout_s or settings.remote_timeout_s, connect=10.0),
        max_retries=retries,
    )


class OpenAICompatEngine(WeightlessEngine):
    """One model served by an OpenAI-compatible endpoint, behind the same Protocol as a local model."""

    def __init__(self, card: ModelCard, settings: Settings, images: ImagePolicy) -> None:
        super().__init__(card, RuntimeInfo(device=REMOTE_DEVICE, dtype="server", placement=settings.openai_base_url))
        self._settings = settings
        self._images = images

    def estimated_bytes(self) -> int | None:
        return 0  # the weights live on the server

    def _params(self) -> dict[str, object]:
        return {"model": self.card.model_id, "server": self._settings.openai_base_url}

    def load(self, on_progress: ProgressCallback | None = None) -> None:
        """No weights to load: check that the server answers and serves this model."""
        if on_progress is not None:
            on_progress(0.5, "load.remote")
        try:
            served = [str(model.id) for model in _client(self._settings, retries=0, timeout_s=10).models.list()]
        except Exception as error:  # noqa: BLE001 - the client's errors, each said in the person's words
            raise remote_error(error, self._params()) from error
        if served and self.card.model_id not in served:
            raise RemoteModelMissing(f"served: {served}", served=", ".join(served), **self._params())
        self._loaded = True
        if on_progress is not None:
            on_progress(1.0, "load.ready")

    def body(self, request: GenerationRequest) -> tuple[dict[str, Any], tuple[int, int] | None]:
        """The chat-completions request, and the size of the image the model will see (when it matters)."""
        family = self._images
        messages: list[dict[str, Any]] = []
        input_size = None
        for message in request.messages:
            content: list[dict[str, Any]] = []
            for clip in message.videos:  # frames as images, each after its timestamp
                for stamp, frame in zip(clip.timestamps, clip.frames, strict=True):
                    prepared = family.remote_image(frame, 1, self.card)
                    content.append({"type": "text", "text": f"Frame at {format_timestamp(stamp)}:"})
                    content.append({"type": "image_url", "image_url": {"url": data_url(prepared.image)}})
            for image in message.images:
                prepared = family.remote_image(image, request.max_tiles, self.card)
                input_size = input_size or prepared.input_size
                content.append({"type": "image_url", "image_url": {"url": data_url(prepared.image)}})
            if message.text or not content:  # a page reader is asked with the picture alone
                content.append({"type": "text", "text": message.text})
            messages.append({"role": message.role.value, "content": _plain(message, content)})
        body: dict[str, Any] = {
            "model": self.card.model_id,
            "messages": messages,
            "stream": True,
            "stream_options": {"include_usage": True},
            **request.sampling.generate_kwargs(),
        }
        body["max_tokens"] = body.pop("max_new_tokens")
        body.pop("do_sample")
        if not request.sampling.do_sample:
            body["temperature"] = 0.0
        if request.keep_special_tokens:  # vLLM's extra parameter; grounding answers carry boxes in them
            body["skip_special_tokens"] = False
        if request.json_schema is not None:  # the server decodes under it (vLLM: guided decoding)
            body["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "answer", "schema": json.loads(request.json_schema), "strict": True},
            }
        if family.chat_template_kwargs:  # vLLM hands these to the model's chat template (thinking off, ...)
            body["chat_template_kwargs"] = dict(family.chat_template_kwargs)
        return body, input_size

    def stream(
        self,
        request: GenerationRequest,
        stop: threading.Event | None = None,
        prefix_cache: PrefixSlot | None = None,
    ) -> RemoteStream:
        """Send the request; the server keeps its own prefix cache, so ``prefix_cache`` is not used."""
        if not self._loaded:
            raise EngineNotLoaded(f"{self.card.model_id} was not checked by the serving pool")
        if request.messages[-1].role is not Role.USER:
            raise ValueError("the last message must be the user's")
        body, input_size = self.body(request)
        return RemoteStream(
            _client(self._settings),
            body,
            self._params(),
            stop=stop,
            input_size=input_size,
            image_count=sum(len(m.images) + sum(len(c.frames) for c in m.videos) for m in request.messages),
        )


def _plain(message: ChatMessage, content: list[dict[str, Any]]) -> str | list[dict[str, Any]]:
    """Text-only messages as a string: every server takes that form, not all take parts for the assistant."""
    return message.text if len(content) == 1 and content[0]["type"] == "text" else content


# What the chat-completions method takes by name; the rest of a body (vLLM's own) goes as ``extra_body``.
_STANDARD = ("model", "messages", "stream", "stream_options", "max_tokens", "temperature", "top_p", "response_format")


def remote_error(error: BaseException, params: dict[str, object]) -> EngineError:
    """The client's exception as the error a person reads: refused key, missing model, busy, unreachable."""
    import openai

    if isinstance(error, EngineError):
        return error
    if isinstance(error, openai.APIStatusError):
        status, detail = error.status_code, str(error.message)[:300]
        if status in (401, 403):
            return RemoteUnauthorized(detail, status=status, **params)
        if status == 404:
            return RemoteModelMissing(detail, status=status, served="", **params)
        if status in (429, 503):
            return RemoteBusy(detail, status=status, **params)
        return RemoteError(detail, status=status, **params)
    if isinstance(error, openai.APIConnectionError):  # refused, unreachable, or timed out
        return RemoteUnreachable(f"{type(error).__name__}: {error}", **params)
    return RemoteError(f"{type(error).__name__}: {error}"[:300], **params)


class RemoteStream(RunnableStream):
    """Text pieces of one streamed chat completion."""

    def __init__(
        self,
        client: Any,
        body: dict[str, Any],
        params: dict[str, object],
        *,
        stop: threading.Event | None,
        input_size: tuple[int, int] | None,
        image_count: int,
    ) -> None:
        self.stats = GenerationStats(image_tiles=image_count)
        self.input_size = input_size
        self.text_layout: OcrPage | None = None  # a served model gives text only
        self._client, self._body, self._params = client, body, params
        self._stop = stop or threading.Event()
        self._response: Any = None
        self._lock = threading.Lock()
        self._started = time.perf_counter()

    def _open(self) -> Any:
        """Send the request (the client retries a busy server); the open stream of chunks."""
        standard = {name: value for name, value in self._body.items() if name in _STANDARD}
        extra = {name: value for name, value in self._body.items() if name not in _STANDARD}
        try:
            return self._client.chat.completions.create(**standard, extra_body=extra or None)
        except Exception as error:  # noqa: BLE001 - mapped to what it means for the person waiting
            raise remote_error(error, self._params) from error

    def _run(self, emit: Emit) -> None:
        import httpx2  # the openai client's HTTP library: a connection cut mid-answer raises its errors
        import openai

        response = self._open()
        with self._lock:
            self._response = response
        finished = False
        try:
            for chunk in response:
                if self._stop.is_set():
                    return
                finished = self._chunk(chunk, emit) or finished
        except (httpx2.HTTPError, httpx2.StreamError, openai.APIConnectionError) as error:
            if self._stop.is_set():
                return
            raise RemoteDropped(f"{type(error).__name__}: {error}", **self._params) from error
        except openai.APIError as error:  # an error event inside the stream
            raise RemoteError(str(error)[:300], **self._params) from error
        finally:
            response.close()
        if not finished and not self._stop.is_set():
            raise RemoteDropped("the stream ended before the answer was complete", **self._params)

    def _chunk(self, chunk: Any, emit: Emit) -> bool:
        """Take one event; True once the server said why the answer ended."""
        usage = getattr(chunk, "usage", None)
        if usage is not None:
            self.stats.prompt_tokens = int(usage.prompt_tokens or 0)
            self.stats.new_tokens = int(usage.completion_tokens or self.stats.new_tokens)
        ended = False
        for choice in chunk.choices or []:
            piece = choice.delta.content if choice.delta is not None else None
            if piece:
                if self.stats.seconds_to_first_token is None:
                    self.stats.seconds_to_first_token = time.perf_counter() - self._started
                if usage is None:
                    self.stats.new_tokens += 1  # one event is about one token; the usage, if sent, corrects it
                emit(piece)
            ended = ended or choice.finish_reason is not None
        return ended

    def _interrupt(self) -> None:
        """The connection is closed: that unblocks the reader and tells the server to cancel."""
        with self._lock:
            response = self._response
        if response is not None:
            response.close()
