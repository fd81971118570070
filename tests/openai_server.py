"""A real OpenAI-compatible HTTP server on loopback, backed by the tiny local models, for the remote-engine tests.

It speaks the chat-completions protocol as vLLM documents it: ``GET /v1/models``, ``POST
/v1/chat/completions`` with ``stream: true`` answered as server-sent events (``data: {chunk}`` lines,
a usage chunk when ``stream_options.include_usage`` is set, then ``data: [DONE]``), image parts as
``image_url`` data URLs, and vLLM's extra ``skip_special_tokens``. What a test needs to provoke is a
switch on the server: an API key, statuses to answer first (429, 503), a connection dropped after N
events, a fixed answer instead of the model's, a delay per event. It counts requests in flight.
"""

from __future__ import annotations

import base64
import io
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from PIL import Image

from core.engines.types import ChatMessage, GenerationRequest, Role, SamplingParams


@dataclass
class ServerScript:
    """What the server does beyond answering; tests change it between requests."""

    api_key: str = ""
    statuses: list[int] = field(default_factory=list)  # answered (with Retry-After: 0) before any real answer
    drop_after_events: int | None = None  # close the socket after this many content events
    answer: str | None = None  # sent instead of the model's words (split into a few events)
    seconds_per_event: float = 0.0


@dataclass
class ServerLog:
    requests: int = 0
    bodies: list[dict[str, Any]] = field(default_factory=list)
    images: list[tuple[int, int]] = field(default_factory=list)  # sizes of the images received
    in_flight: int = 0
    most_in_flight: int = 0
    disconnected: int = 0  # streams the client closed before the end
    lock: threading.Lock = field(default_factory=threading.Lock)


def _image(url: str) -> Image.Image:
    header, _, payload = url.partition(",")
    assert header.startswith("data:image/") and header.endswith(";base64"), header
    return Image.open(io.BytesIO(base64.b64decode(payload))).convert("RGB")


def to_request(body: dict[str, Any], log: ServerLog) -> GenerationRequest:
    messages = []
    for message in body["messages"]:
        content = message["content"]
        parts = [{"type": "text", "text": content}] if isinstance(content, str) else content
        texts = [part["text"] for part in parts if part["type"] == "text"]
        images = tuple(_image(part["image_url"]["url"]) for part in parts if part["type"] == "image_url")
        with log.lock:
            log.images.extend(image.size for image in images)
        messages.append(ChatMessage(Role(message["role"]), "\n".join(texts), images))
    temperature = float(body.get("temperature") or 0.0)
    sampling = SamplingParams(
        max_new_tokens=int(body.get("max_tokens") or 64),
        do_sample=temperature > 0,
        temperature=temperature or 0.7,
        top_p=float(body.get("top_p") or 0.9),
    )
    return GenerationRequest(tuple(messages), sampling, keep_special_tokens=not body.get("skip_special_tokens", True))


class OpenAITestServer:
    """``engines``: served name -> a loaded local engine."""

    def __init__(self, engines: dict[str, Any]) -> None:
        self.engines = engines
        self.script = ServerScript()
        self.log = ServerLog()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/v1"
        self._thread = threading.Thread(target=self._server.serve_forever, name="openai-test-server", daemon=True)

    def __enter__(self) -> OpenAITestServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def reset(self) -> None:
        self.script = ServerScript()
        self.log = ServerLog()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        return type("Handler", (_Handler,), {"owner": self})


def _split(text: str) -> list[str]:
    words = text.split(" ")
    return [word + (" " if index < len(words) - 1 else "") for index, word in enumerate(words)]


class _Handler(BaseHTTPRequestHandler):
    """The endpoints; ``owner`` is the test server whose script and log they follow (set per server)."""

    owner: OpenAITestServer

    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        pass

    def _json(self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _authorised(self) -> bool:
        key = self.owner.script.api_key
        if key and self.headers.get("Authorization") != f"Bearer {key}":
            self._json(401, {"error": {"message": "Invalid API key", "type": "authentication_error"}})
            return False
        return True

    def do_GET(self) -> None:  # noqa: N802 - the http.server convention
        if not self._authorised():
            return
        if self.path.rstrip("/") == "/v1/models":
            self._json(200, {"object": "list", "data": [{"id": name, "object": "model"}
                                                         for name in self.owner.engines]})  # fmt: skip
        else:
            self._json(404, {"error": {"message": f"no route {self.path}"}})

    def do_POST(self) -> None:  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))) or b"{}")
        if not self._authorised():
            return
        with self.owner.log.lock:
            self.owner.log.requests += 1
            self.owner.log.bodies.append(body)
            status = self.owner.script.statuses.pop(0) if self.owner.script.statuses else None
        if status is not None:
            self._json(status, {"error": {"message": "busy"}}, {"Retry-After": "0"})
            return
        engine = self.owner.engines.get(body.get("model"))
        if engine is None:
            self._json(404, {"error": {"message": f"The model `{body.get('model')}` does not exist."}})
            return
        with self.owner.log.lock:
            self.owner.log.in_flight += 1
            self.owner.log.most_in_flight = max(self.owner.log.most_in_flight, self.owner.log.in_flight)
        try:
            self._stream(engine, body)
        finally:
            with self.owner.log.lock:
                self.owner.log.in_flight -= 1

    def _event(self, payload: dict[str, Any] | str) -> None:
        data = payload if isinstance(payload, str) else json.dumps(payload)
        chunk = f"data: {data}\n\n".encode()
        self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
        self.wfile.flush()

    def _stream(self, engine: Any, body: dict[str, Any]) -> None:
        request = to_request(body, self.owner.log)
        stop = threading.Event()
        stream = engine.stream(request, stop)
        script = self.owner.script
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        base = {"id": "chatcmpl-test", "object": "chat.completion.chunk", "model": body["model"]}
        pieces = stream if script.answer is None else _split(script.answer)
        sent = 0
        try:
            for piece in pieces:
                if script.drop_after_events is not None and sent >= script.drop_after_events:
                    self.connection.shutdown(2)  # the server goes away mid-answer
                    return
                time.sleep(script.seconds_per_event)
                self._event({**base, "choices": [{"index": 0, "delta": {"content": piece},
                                                  "finish_reason": None}]})  # fmt: skip
                sent += 1
            if script.answer is not None:
                list(stream)  # the model still ran on the real inputs
            self._event({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
            if (body.get("stream_options") or {}).get("include_usage"):
                usage = {"prompt_tokens": stream.stats.prompt_tokens, "completion_tokens": sent,
                         "total_tokens": stream.stats.prompt_tokens + sent}  # fmt: skip
                self._event({**base, "choices": [], "usage": usage})
            self._event("[DONE]")
            self.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            with self.owner.log.lock:
                self.owner.log.disconnected += 1
        finally:
            stop.set()
            stream.close()
