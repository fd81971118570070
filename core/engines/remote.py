"""An engine that talks to an OpenAI-compatible chat-completions server: vLLM, llama.cpp's server, Ollama.

The server batches many requests, so the serving core keeps such a model "resident" at no memory
cost and lets ``REMOTE_PARALLEL`` requests run on it at once. What stays ours: the prompts, the
pixel budget (images are resized here, under the same tile budget as a local run, and sent as data
URLs), the family's output parsers, and the messages a person sees when the server says no.

Streaming is read from server-sent events on a worker thread; a Stop closes the connection, which
vLLM takes as a cancelled request.
"""

from __future__ import annotations

import base64
import io
import json
import queue
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from PIL import Image

from core.engines.base import ProgressCallback, WeightlessEngine
from core.engines.prefix import PrefixSlot
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

RETRIES = 3  # on 429 and 503: the server is busy or still starting
BACKOFF_S = 0.5  # doubled at each retry, or the server's Retry-After (capped)
MAX_RETRY_AFTER_S = 10.0
_END = object()


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
    """How a family sizes a picture for a server (its family object): within the budget a local run uses."""

    def remote_image(self, image: Image.Image, max_tiles: int | None, card: ModelCard) -> RemoteImage: ...


def data_url(image: Image.Image) -> str:
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, "PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


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

    def _headers(self) -> dict[str, str]:
        key = str(self._settings.openai_api_key)
        return {"Authorization": f"Bearer {key}"} if key else {}

    def load(self, on_progress: ProgressCallback | None = None) -> None:
        """No weights to load: check that the server answers and serves this model."""
        import httpx

        if on_progress is not None:
            on_progress(0.5, "load.remote")
        try:
            response = httpx.get(f"{self._settings.openai_base_url}/models", headers=self._headers(), timeout=10)
        except httpx.HTTPError as error:
            raise RemoteUnreachable(f"{type(error).__name__}: {error}", **self._params()) from error
        _raise_for_status(response, self._params())
        served = [str(item.get("id")) for item in response.json().get("data", []) if isinstance(item, dict)]
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
            f"{self._settings.openai_base_url}/chat/completions",
            body,
            self._headers(),
            self._params(),
            timeout_s=self._settings.remote_timeout_s,
            stop=stop,
            input_size=input_size,
            image_count=sum(len(m.images) + sum(len(c.frames) for c in m.videos) for m in request.messages),
        )


def _plain(message: ChatMessage, content: list[dict[str, Any]]) -> str | list[dict[str, Any]]:
    """Text-only messages as a string: every server takes that form, not all take parts for the assistant."""
    return message.text if len(content) == 1 else content


def _raise_for_status(response: Any, params: dict[str, object]) -> None:
    status = response.status_code
    if status < 400:
        return
    detail = _error_text(response)
    if status in (401, 403):
        raise RemoteUnauthorized(detail, status=status, **params)
    if status == 404:
        raise RemoteModelMissing(detail, status=status, served="", **params)
    if status in (429, 503):
        raise RemoteBusy(detail, status=status, **params)
    raise RemoteError(detail, status=status, **params)


def _error_text(response: Any) -> str:
    try:
        response.read()
        payload = response.json()
        message = payload.get("error", payload)
        return str(message.get("message", message) if isinstance(message, dict) else message)[:300]
    except Exception:  # noqa: BLE001 - any body, or none: the status code says enough
        return f"HTTP {response.status_code}"


class RemoteStream:
    """Text pieces of one streamed chat completion, read on a worker thread."""

    def __init__(
        self,
        url: str,
        body: dict[str, Any],
        headers: dict[str, str],
        params: dict[str, object],
        *,
        timeout_s: float,
        stop: threading.Event | None,
        input_size: tuple[int, int] | None,
        image_count: int,
    ) -> None:
        self.stats = GenerationStats(image_tiles=image_count)
        self.input_size = input_size
        self.text_layout: OcrPage | None = None  # a served model gives text only
        self._url, self._body, self._headers, self._params = url, body, headers, params
        self._timeout_s = timeout_s
        self._stop = stop or threading.Event()
        self._pieces: queue.Queue[object] = queue.Queue()
        self._error: BaseException | None = None
        self._response: Any = None
        self._lock = threading.Lock()
        self._started = time.perf_counter()
        self._thread = threading.Thread(target=self._work, name="vlm-remote", daemon=True)
        self._thread.start()

    def _work(self) -> None:
        try:
            self._read()
        except BaseException as error:  # noqa: BLE001 - handed to the consumer's thread
            if not self._stop.is_set():
                self._error = error
        finally:
            self._pieces.put(_END)

    def _open(self) -> Any:
        """POST with retries on 429 / 503; the open streaming response."""
        import httpx

        client = httpx.Client(timeout=httpx.Timeout(self._timeout_s, connect=10.0))
        delay = BACKOFF_S
        for attempt in range(RETRIES + 1):
            try:
                request = client.build_request("POST", self._url, json=self._body, headers=self._headers)
                response = client.send(request, stream=True)
            except httpx.HTTPError as error:
                client.close()
                raise RemoteUnreachable(f"{type(error).__name__}: {error}", **self._params) from error
            if response.status_code in (429, 503) and attempt < RETRIES:
                wait = _retry_after(response) or delay
                response.close()
                delay *= 2
                if self._stop.wait(min(wait, MAX_RETRY_AFTER_S)):
                    client.close()
                    return None
                continue
            try:
                _raise_for_status(response, self._params)
            except RemoteError:
                response.close()
                client.close()
                raise
            response.extensions["vlm_client"] = client
            return response
        raise AssertionError("unreachable")  # pragma: no cover

    def _read(self) -> None:
        import httpx

        response = self._open()
        if response is None:
            return
        with self._lock:
            self._response = response
        finished = False
        try:
            for line in response.iter_lines():
                if self._stop.is_set():
                    return
                if not line.startswith("data:"):
                    continue
                data = line[5:].strip()
                if data == "[DONE]":
                    finished = True
                    break
                finished = self._chunk(json.loads(data)) or finished
        except httpx.HTTPError as error:
            if self._stop.is_set():
                return
            raise RemoteDropped(f"{type(error).__name__}: {error}", **self._params) from error
        finally:
            response.close()
            response.extensions["vlm_client"].close()
        if not finished and not self._stop.is_set():
            raise RemoteDropped("the stream ended before the answer was complete", **self._params)

    def _chunk(self, chunk: dict[str, Any]) -> bool:
        """Take one event; True once the server said why the answer ended."""
        if "error" in chunk:
            raise RemoteError(str(chunk["error"])[:300], **self._params)
        usage = chunk.get("usage")
        if isinstance(usage, dict):
            self.stats.prompt_tokens = int(usage.get("prompt_tokens") or 0)
            self.stats.new_tokens = int(usage.get("completion_tokens") or self.stats.new_tokens)
        ended = False
        for choice in chunk.get("choices") or []:
            piece = (choice.get("delta") or {}).get("content")
            if piece:
                if self.stats.seconds_to_first_token is None:
                    self.stats.seconds_to_first_token = time.perf_counter() - self._started
                if not isinstance(usage, dict):
                    self.stats.new_tokens += 1  # one event is about one token; the usage, if sent, corrects it
                self._pieces.put(piece)
            ended = ended or choice.get("finish_reason") is not None
        return ended

    def __iter__(self) -> Iterator[str]:
        try:
            while True:
                item = self._pieces.get()
                if item is _END:
                    break
                yield str(item)
        finally:
            self.close()
        if self._error is not None:
            error = self._error
            raise error if isinstance(error, EngineError) else RemoteError(str(error), **self._params) from error

    def close(self) -> None:
        if self._thread.is_alive():
            self._stop.set()
            self.stats.stopped = True
            with self._lock:
                response = self._response
            if response is not None:
                response.close()  # unblocks the reader; the server sees the client go and cancels
        self._thread.join()
        self.stats.seconds_total = time.perf_counter() - self._started


def _retry_after(response: Any) -> float | None:
    try:
        return float(response.headers.get("retry-after", ""))
    except ValueError:
        return None
