"""A real streamlit server on the tiny model, and Debian's chromium driven by Playwright."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import ROOT

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = ROOT / "test-artifacts"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_healthy(url: str, process: subprocess.Popen, log: Path, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited early:\n{log.read_text(errors='replace')}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"streamlit did not become healthy:\n{log.read_text(errors='replace')}")


# Offered beside the default model: the grounding families in the picker, the OCR specialists on the OCR page.
EXTRA_FAMILIES = ("qwen2_5_vl", "qwen3_vl", "internvl", "florence2", "glm_ocr", "paddleocr_vl")


@dataclass
class Server:
    """A dashboard process: its address, and its log for the test to read."""

    process: subprocess.Popen
    url: str
    log: Path


def start_server(
    tiny_smolvlm: Path,
    tiny_models: dict[str, Path],
    folder: Path,
    *,
    slow_tokens_s: float = 0.0,
    canned_doctags: str = "",
    extra_env: dict[str, str] | None = None,
    log_name: str = "streamlit.log",
    port: int | None = None,
    extra_args: tuple[str, ...] = (),
    module: str = "streamlit",
) -> Server:
    """Start the app (on ``port``, else a free one) with its data in ``folder``; wait until it is healthy."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: scripts/test.sh installs Debian's chromium")
    port = port or free_port()
    log = folder / log_name
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"MODEL_PATH", "SMOLVLM2_MODEL_ID", "MODEL_NAME", "MODEL_DEVICE", "HF_TOKEN", "DATABASE_URL"}
    }
    env.update(
        MODEL_ID=str(tiny_smolvlm),
        HF_HUB_OFFLINE="1",
        HF_HOME=str(folder / "hf"),
        DATA_DIR=str(folder / "data"),
        PREPARE_IMAGES="no",  # the race tests time the queue without background work; test_prepare turns it on
        UI_LANG="en",
        MAX_NEW_TOKENS="1024",
        MODEL_QUANT="none",  # float32 whatever the CPU: the timings of the race tests stay as designed
        EXTRA_MODEL_IDS=",".join(str(tiny_models[family]) for family in EXTRA_FAMILIES),
        DOCLING_MODEL=str(tiny_models["docling"]),
        CONVERT_MAX_NEW_TOKENS="48",  # random weights never stop on their own
        PYTHONPATH=str(ROOT),
    )
    env.update(extra_env or {})
    # The slow server runs the same app through a launcher that delays every generated token.
    launcher = ["-m", module]
    if slow_tokens_s:
        launcher = [str(Path(__file__).with_name("slow_streamlit.py")), str(slow_tokens_s)]
    elif canned_doctags:
        launcher = [str(Path(__file__).with_name("canned_streamlit.py"))]
        env["CANNED_DOCTAGS"] = canned_doctags
        env["CANNED_OCR"] = CANNED_OCR
        env["CANNED_GROUNDING"] = CANNED_GROUNDING
        env["CANNED_READING"] = CANNED_READING
        env["CANNED_EXTRACT"] = CANNED_EXTRACT
        env["CANNED_NASTY"] = CANNED_NASTY
    command = [sys.executable, *launcher, "run", "Home.py", "--server.port", str(port), "--server.address",
               "127.0.0.1", "--server.headless", "true", "--server.fileWatcherType", "none",
               "--browser.gatherUsageStats", "false", *extra_args]  # fmt: skip
    with log.open("w") as sink:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=sink, stderr=subprocess.STDOUT)
    server = Server(process, f"http://127.0.0.1:{port}", log)
    try:
        _wait_healthy(server.url, process, log)
    except RuntimeError:
        process.kill()
        raise
    return server


def stop_server(server: Server, name: str = "") -> None:
    """Stop it as an operator would and keep its log; a traceback in it fails the test."""
    server.process.terminate()
    try:
        server.process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.process.kill()
    server_log = server.log.read_text(errors="replace")
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / f"streamlit-e2e{name}.log").write_text(server_log)
    assert "Traceback" not in server_log, server_log


def _serve(
    tiny_smolvlm: Path,
    tiny_models: dict[str, Path],
    folder: Path,
    *,
    slow_tokens_s: float = 0.0,
    canned_doctags: str = "",
    extra_env: dict[str, str] | None = None,
    name: str = "",
) -> Iterator[str]:
    server = start_server(tiny_smolvlm, tiny_models, folder, slow_tokens_s=slow_tokens_s,
                          canned_doctags=canned_doctags, extra_env=extra_env)  # fmt: skip
    try:
        yield server.url
    finally:
        stop_server(server, name)


# What the canned server's chat model answers to an OCR request: a transcription wrapped in chatter.
CANNED_OCR = "Конечно! Вот текст с изображения:\n\nСчёт № 42 от 03.03.2026\nИтого: 1 234,56 ₽\n\nНадеюсь, это поможет!"

# Qwen3-VL's grounding answer on the canned server: thousandths of the picture.
CANNED_GROUNDING = '[{"bbox_2d": [250, 125, 750, 875], "label": "cat"}]'


# GLM-OCR's answer to a table request: an HTML table, one cell trying to style the page.
CANNED_READING = (
    "<table><tr><th>Товар</th><th>Сумма</th></tr><tr><td>Бумага A4</td><td>1 234,56</td></tr>"
    "<tr><td>:red[Итого]</td><td>1 234,56</td></tr></table>"
)


# The chat model's extraction of the synthetic Russian invoice 2 (its true values, a wrong ИНН, a made-up buyer).
CANNED_EXTRACT = (
    '{"number":"INV-2026-0002","date":"07.11.2026","seller":"ООО «Ромашка»","seller_inn":"7707083894",'
    '"seller_kpp":null,"buyer":"Globex Corporation","buyer_inn":null,"buyer_kpp":null,"bik":null,"account":null,'
    '"lines":[{"name":"Бумага А4","quantity":"3","unit":null,"price":"28.70","amount":null}],'
    '"vat_rate":null,"vat":null,"total":"391.53","currency":"RUB"}'
)


# The chat model's answer to NASTY_QUESTION on the canned server: everything a model must not do to the page.
NASTY_QUESTION = "Quote the price list"
CANNED_NASTY = (
    "Prices: $5 and $10. :red[ALARM] :material/warning: <b>raw html</b> [click me](https://evil.example/x) "
    "https://evil.example/bare **still bold** `:red[in code]`"
)


@pytest.fixture(scope="session")
def server_url(
    tiny_smolvlm: Path, tiny_models: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    # Random weights never stop on their own: most tests here only wait for an answer's end, and those
    # that need a long one set this session's budget to its maximum (browser.longest_answers).
    yield from _serve(tiny_smolvlm, tiny_models, tmp_path_factory.mktemp("server"), extra_env={"MAX_NEW_TOKENS": "128"})


@pytest.fixture(scope="session")
def slow_server_url(
    tiny_smolvlm: Path, tiny_models: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A second server whose answers come at 20 tokens a second: a Stop always lands mid-answer."""
    yield from _serve(
        tiny_smolvlm, tiny_models, tmp_path_factory.mktemp("slow-server"), slow_tokens_s=0.05, name="-slow"
    )


@pytest.fixture(scope="session")
def canned_docling_url(
    tiny_smolvlm: Path, tiny_models: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A server whose document model answers with ``CANNED_PAGE`` (numbered per page) and whose chat model
    answers OCR requests with ``CANNED_OCR``, after really running."""
    from tests.e2e.test_convert import CANNED_PAGE

    yield from _serve(tiny_smolvlm, tiny_models, tmp_path_factory.mktemp("canned"), canned_doctags=CANNED_PAGE,
                      name="-canned")  # fmt: skip


@pytest.fixture(scope="session")
def remote_model_server(tiny_smolvlm: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """An OpenAI-compatible server in this process, on loopback, serving the tiny SmolVLM."""
    from core.registry import create_engine
    from core.settings import Settings
    from tests.openai_server import OpenAITestServer

    settings = Settings(allow_download=False, hf_home=tmp_path_factory.mktemp("hf"), device="cpu", model_quant="none")
    engine = create_engine(str(tiny_smolvlm), settings)
    engine.load()
    with OpenAITestServer({"served/tiny-smolvlm": engine}) as server:
        yield server
    engine.unload()


@pytest.fixture(scope="session")
def remote_server_url(
    tiny_smolvlm: Path, tiny_models: dict[str, Path], tmp_path_factory: pytest.TempPathFactory, remote_model_server
) -> Iterator[str]:
    """The dashboard with ENGINE=openai, pointed at ``remote_model_server``."""
    env = {"ENGINE": "openai", "OPENAI_BASE_URL": remote_model_server.url, "OPENAI_MODEL": "served/tiny-smolvlm",
           "OPENAI_API_KEY": "e2e-key", "MODEL_ID": ""}  # fmt: skip
    remote_model_server.script.api_key = "e2e-key"
    yield from _serve(tiny_smolvlm, tiny_models, tmp_path_factory.mktemp("remote"), extra_env=env, name="-remote")


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-dev-shm-usage"],
        )
        yield launched
        launched.close()


@pytest.fixture
def page(browser, server_url, request):
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    tab = context.new_page()
    tab.set_default_timeout(60_000)
    yield tab
    ARTIFACTS.mkdir(exist_ok=True)
    tab.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    context.close()
