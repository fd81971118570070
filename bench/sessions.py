"""Several people at once in real browsers against one dashboard: what each of them sees.

It starts the app on a random-weight model (the tiny one, or a real SmolVLM2 shape), opens ``--sessions``
browser contexts in Debian's chromium (each a person with their own picture), lets them all ask at the
same moment on the Chat page, and then opens each person's link again to check the answer was kept. It
prints one JSON line per person and a summary: answered, refused with a message, errors, answers lost,
p50/p95 of the first token (from pressing Enter: the wait in line, the load, reading the picture) and the
server's peak memory.

    python bench/sessions.py --model tiny --sessions 8
    python bench/sessions.py --model 256m --sessions 8 --new-tokens 32
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.tiny_models import REAL_SMOLVLM_SHAPES, build_smolvlm, build_tiny_smolvlm  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
ANSWERS = '[data-testid="stChatMessage"]'
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
REFUSED = re.compile(r"The server is busy|Your requests already waiting")
# In the page: when Enter was pressed and when the answer ended (its stats, or a refusal). The first token's
# time comes from the answer's own stats: random weights of a real shape often write tokens that show as
# nothing, so the first visible word is no measure.
ENDING_WATCH = """() => {
    window.__asked = performance.now();
    window.__ended = undefined;
    const watch = new MutationObserver(() => {
        const messages = document.querySelectorAll('[data-testid="stChatMessage"]');
        if (messages.length < 2) return;
        if (/busy|already waiting|\\d+ tokens ·/.test(messages[1].innerText)) {
            window.__ended = performance.now();
            watch.disconnect();
        }
    });
    watch.observe(document.body, {subtree: true, childList: true, characterData: true});
}"""
STATS = re.compile(r"(\d+) tokens · ([\d.]+) s · first token after ([\d.]+) s")
COLOURS = ("navy", "teal", "olive", "maroon", "purple", "orange", "gray", "green", "brown", "pink")


@dataclass
class Person:
    person: int
    outcome: str = "error"  # answered | refused | error
    first_token_s: float | None = None
    done_s: float | None = None
    new_tokens: int | None = None
    kept: bool | None = None  # the answer was there when the link was opened again
    detail: str = ""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _start(model: Path, data: Path, args: argparse.Namespace) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    env = {**os.environ, "MODEL_ID": str(model), "HF_HUB_OFFLINE": "1", "HF_HOME": str(data / "hf"),
           "DATA_DIR": str(data / "history"), "UI_LANG": "en", "MAX_NEW_TOKENS": str(args.new_tokens),
           "MAX_QUEUE": str(args.max_queue), "MODEL_QUANT": args.quant, "PYTHONPATH": str(ROOT)}  # fmt: skip
    env.pop("DATABASE_URL", None)
    command = [sys.executable, "-m", "streamlit", "run", "Home.py", "--server.port", str(port), "--server.address",
               "127.0.0.1", "--server.headless", "true", "--server.fileWatcherType", "none",
               "--browser.gatherUsageStats", "false"]  # fmt: skip
    log = (data / "server.log").open("w")
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2):
                return process, url
        except OSError:
            if process.poll() is not None:
                break
            time.sleep(0.3)
    process.kill()
    raise SystemExit(f"the dashboard did not start; see {data / 'server.log'}")


def _peak_rss_gb(pid: int) -> float:
    """The process's high-water mark of resident memory (VmHWM), in GB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024 / 1e9
    return float("nan")


async def _person(browser, url: str, index: int, picture: Path, ready: asyncio.Barrier, go: asyncio.Event,
                  timeout_s: float) -> tuple[Person, str]:  # fmt: skip
    person = Person(index)
    context = await browser.new_context(viewport={"width": 1300, "height": 900})
    tab = await context.new_page()
    tab.set_default_timeout(timeout_s * 1000)
    link = ""
    try:
        await tab.goto(url)
        await tab.wait_for_selector(IDLE)
        await tab.locator('[data-testid="stFileUploaderDropzoneInput"]').first.set_input_files(str(picture))
        await tab.get_by_text("640×480 px").first.wait_for()
        await tab.wait_for_selector(IDLE)
        await tab.locator('[data-testid="stSidebar"]').get_by_role("link", name="Chat").click()
        await tab.wait_for_url(re.compile(r"/Chat(\?.*)?$"))
        await tab.wait_for_timeout(300)
        await tab.wait_for_selector(IDLE)
        link = tab.url
        await ready.wait()
        await go.wait()
        box = tab.locator('[data-testid="stChatInputTextArea"]')
        await box.fill(f"Person {index}: what is in the picture?")
        await tab.evaluate(ENDING_WATCH)
        await box.press("Enter")
        answer = tab.locator(ANSWERS).nth(1)
        await tab.wait_for_function("() => window.__ended !== undefined")
        refusal = tab.get_by_text(REFUSED)
        if await refusal.count():
            person.outcome, person.detail = "refused", (await refusal.first.inner_text())[:80]
            return person, link
        await answer.get_by_text(re.compile(r"\d+ tokens")).wait_for()
        ended = await tab.evaluate("() => window.__ended - window.__asked") / 1000
        person.done_s = round(ended, 2)
        stats = STATS.search(await answer.inner_text())
        if stats is not None:
            # the answer's own figures: its decode took (total - first token), the rest was line, load and prefill
            tokens, total, first = int(stats.group(1)), float(stats.group(2)), float(stats.group(3))
            person.new_tokens, person.first_token_s = tokens, round(ended - (total - first), 2)
        person.outcome = "answered"
    except Exception as error:  # noqa: BLE001 - a bench reports what went wrong for this person and goes on
        person.detail = f"{type(error).__name__}: {str(error).splitlines()[0][:120]}"
    finally:
        await context.close()
    return person, link


async def _kept(browser, link: str, timeout_s: float) -> bool:
    """Open the person's link in a fresh tab: is their answer there?"""
    context = await browser.new_context()
    tab = await context.new_page()
    tab.set_default_timeout(timeout_s * 1000)
    try:
        await tab.goto(link)
        await tab.wait_for_selector(IDLE)
        await tab.locator(ANSWERS).nth(1).get_by_text(re.compile(r"\d+ tokens")).wait_for()
        return True
    except Exception:  # noqa: BLE001 - not found in time is what "lost" means here
        return False
    finally:
        await context.close()


async def _run(url: str, pictures: list[Path], args: argparse.Namespace) -> list[Person]:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-dev-shm-usage"])  # fmt: skip
        ready, go = asyncio.Barrier(len(pictures) + 1), asyncio.Event()
        tasks = [asyncio.create_task(_person(browser, url, index, picture, ready, go, args.timeout))
                 for index, picture in enumerate(pictures)]  # fmt: skip
        await ready.wait()  # everyone is on the Chat page with their picture
        go.set()
        results = await asyncio.gather(*tasks)
        people = []
        for person, link in results:
            if person.outcome == "answered" and link:
                person.kept = await _kept(browser, link, args.timeout)
            people.append(person)
        await browser.close()
    return people


def _percentile(values: list[float], share: float) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return round(statistics.quantiles(values, n=100, method="inclusive")[int(share * 100) - 1], 2)


def main() -> None:
    parser = argparse.ArgumentParser(description="Several people at once in real browsers against one dashboard.")
    parser.add_argument("--model", choices=["tiny", *sorted(REAL_SMOLVLM_SHAPES)], default="tiny")
    parser.add_argument("--sessions", type=int, default=8)
    parser.add_argument("--new-tokens", type=int, default=32)
    parser.add_argument("--max-queue", type=int, default=16, help="the server's MAX_QUEUE")
    parser.add_argument("--quant", default="auto", help="the server's MODEL_QUANT (auto: int8 on a CPU)")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds one person waits at most")
    args = parser.parse_args()
    if not Path(CHROMIUM).exists():
        raise SystemExit(f"{CHROMIUM} is missing: scripts/test.sh installs Debian's chromium")

    from PIL import Image

    with tempfile.TemporaryDirectory() as scratch:
        data = Path(scratch)
        if args.model == "tiny":
            model = build_tiny_smolvlm(data / "tiny-smolvlm")
        else:
            model = build_smolvlm(data / f"smolvlm2-{args.model}", REAL_SMOLVLM_SHAPES[args.model])
        pictures = []
        for index in range(args.sessions):
            picture = data / f"person-{index}.png"
            Image.new("RGB", (640, 480), COLOURS[index % len(COLOURS)]).save(picture)
            pictures.append(picture)
        process, url = _start(model, data, args)
        try:
            started = time.perf_counter()
            people = asyncio.run(_run(url, pictures, args))
            wall = time.perf_counter() - started
            peak = _peak_rss_gb(process.pid)
        finally:
            process.terminate()
            process.wait(30)
        errors_in_log = (data / "server.log").read_text(errors="replace").count("Traceback")

    for person in people:
        print(json.dumps({"event": "person", **asdict(person)}), flush=True)
    firsts = sorted(person.first_token_s for person in people if person.first_token_s is not None)
    answered = [person for person in people if person.outcome == "answered"]
    summary = {
        "event": "summary", "model": args.model, "quantization": args.quant, "sessions": args.sessions,
        "new_tokens": args.new_tokens, "answered": len(answered),
        "refused_with_message": sum(person.outcome == "refused" for person in people),
        "errors": sum(person.outcome == "error" for person in people) + errors_in_log,
        "lost_answers": sum(person.kept is False for person in answered),
        "first_token_p50_s": _percentile(firsts, 0.5), "first_token_p95_s": _percentile(firsts, 0.95),
        "last_done_s": max((person.done_s or 0.0 for person in answered), default=None),
        "peak_server_rss_gb": round(peak, 2), "wall_s": round(wall, 1),
    }  # fmt: skip
    print(json.dumps(summary), flush=True)


if __name__ == "__main__":
    main()
