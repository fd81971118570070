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
import re
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app_server import ANSWERS, BROWSER_ARGS, CHROMIUM, IDLE, build_model, peak_rss_gb, start, timed_answer  # noqa: E402

from core.tiny_models import REAL_SMOLVLM_SHAPES  # noqa: E402

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
        timing = await timed_answer(tab, 1, lambda: box.press("Enter"))
        if timing["refused"]:
            person.outcome, person.detail = "refused", str(timing["text"])[-80:]
            return person, link
        person.first_token_s, person.done_s = timing["first_token_s"], timing["done_s"]
        person.new_tokens = timing["new_tokens"]
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
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=BROWSER_ARGS)
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
        model = build_model(args.model, data)
        pictures = []
        for index in range(args.sessions):
            picture = data / f"person-{index}.png"
            Image.new("RGB", (640, 480), COLOURS[index % len(COLOURS)]).save(picture)
            pictures.append(picture)
        env = {
            "MAX_NEW_TOKENS": str(args.new_tokens),
            "MAX_QUEUE": str(args.max_queue),
            "MODEL_QUANT": args.quant,
            "PREPARE_IMAGES": "no",
            "PRELOAD_MODEL": "no",
        }  # everyone's first question pays for its picture
        process, url = start(model, data, env)
        try:
            started = time.perf_counter()
            people = asyncio.run(_run(url, pictures, args))
            wall = time.perf_counter() - started
            peak = peak_rss_gb(process.pid)
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
