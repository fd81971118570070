"""What the browser benches share: the dashboard started on a model of their choosing, its peak memory,
and reading an answer's timings off the Chat page."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
BROWSER_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-dev-shm-usage"]
ANSWERS = '[data-testid="stChatMessage"]'
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
# An answer's own stats line on the Chat page: tokens, total seconds, seconds to its first token.
STATS = re.compile(r"(\d+) tokens · ([\d.]+) s · first token after ([\d.]+) s")

# In the page: when Enter was pressed; when the answer number ``index`` was drawn with its Stop button (the
# page submits the question right after drawing it); when it showed its first token (streamed text with
# the page's cursor, or its waiting line gone: random weights of a real shape often write tokens that show
# as nothing); and when it ended (its stats, or a refusal).
ENDING_WATCH = """index => {
    window.__asked = performance.now();
    window.__ended = undefined;
    window.__first = undefined;
    window.__drawn = undefined;
    window.__sawWaiting = false;
    const watch = new MutationObserver(() => {
        const messages = document.querySelectorAll('[data-testid="stChatMessage"]');
        if (messages.length <= index) return;
        const message = messages[index], text = message.innerText;
        if (window.__drawn === undefined) window.__drawn = performance.now();
        if (window.__first === undefined) {
            // its first token: streamed text with the cursor, or (a random model's tokens that show as
            // nothing) the waiting line gone while its Stop button still stands
            const waiting = message.querySelector('[data-testid="stCaptionContainer"]') !== null;
            const going = message.querySelector("button") !== null;
            if (waiting) window.__sawWaiting = true;
            const shown = text.includes("\u258c") || (window.__sawWaiting && going && !waiting);
            if (shown) window.__first = performance.now();
        }
        if (/busy|already waiting|\\d+ tokens ·/.test(text)) {
            window.__ended = performance.now();
            watch.disconnect();
        }
    });
    watch.observe(document.body, {subtree: true, childList: true, characterData: true});
}"""


def build_model(size: str, folder: Path) -> Path:
    """Random weights in ``folder``: the tiny test model, or SmolVLM2 at the real shape ``size`` (256m, 500m, 2.2b)."""
    sys.path.insert(0, str(ROOT))
    from core.tiny_models import REAL_SMOLVLM_SHAPES, build_smolvlm, build_tiny_smolvlm

    if size == "tiny":
        return build_tiny_smolvlm(folder / "tiny-smolvlm")
    return build_smolvlm(folder / f"smolvlm2-{size}", REAL_SMOLVLM_SHAPES[size])


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start(model: Path, data: Path, env: dict[str, str], *, module: str = "streamlit") -> tuple[subprocess.Popen, str]:
    """The dashboard on ``model`` with its data in ``data``, as ``python -m <module> run Home.py``."""
    port = free_port()
    full = {**os.environ, "MODEL_ID": str(model), "HF_HUB_OFFLINE": "1", "HF_HOME": str(data / "hf"),
            "DATA_DIR": str(data / "history"), "UI_LANG": "en", "PYTHONPATH": str(ROOT), **env}  # fmt: skip
    full.pop("DATABASE_URL", None)
    command = [sys.executable, "-m", module, "run", "Home.py", "--server.port", str(port), "--server.address",
               "127.0.0.1", "--server.headless", "true", "--server.fileWatcherType", "none",
               "--browser.gatherUsageStats", "false"]  # fmt: skip
    log = (data / "server.log").open("w")
    process = subprocess.Popen(command, cwd=ROOT, env=full, stdout=log, stderr=subprocess.STDOUT)
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


def peak_rss_gb(pid: int) -> float:
    """The process's high-water mark of resident memory (VmHWM), in GB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024 / 1e9
    return float("nan")


async def timed_answer(tab, index: int, send) -> dict[str, float | int | None]:
    """Run ``send()`` (press Enter, click a quick prompt) and wait for answer number ``index``: its first
    token and its end, in seconds from the click, and its tokens; ``refused`` when the server said no."""
    await tab.evaluate(ENDING_WATCH, index)
    asked_at = time.time()  # the server's request lines are on this clock
    await send()
    await tab.wait_for_function("() => window.__ended !== undefined")
    answer = tab.locator(ANSWERS).nth(index)
    text = await answer.inner_text()
    ended = await tab.evaluate("() => window.__ended - window.__asked") / 1000
    seen, drawn = await tab.evaluate(
        "() => [window.__first, window.__drawn].map(t => t === undefined ? null : t - window.__asked)"
    )
    stats = STATS.search(text)
    if stats is None:
        return {"refused": 1, "done_s": round(ended, 2), "first_token_s": None, "first_seen_s": None,
                "drawn_s": None, "new_tokens": None, "asked_at": asked_at, "text": text[-120:]}  # fmt: skip
    tokens, total, first = int(stats.group(1)), float(stats.group(2)), float(stats.group(3))
    # first_token_s: the end in the browser less the model's time after its first token, so it also holds
    # the page's last redraw; first_seen_s: when the browser first showed the first token (None when the
    # waiting line was never drawn: the token came before the browser drew it)
    return {"refused": 0, "done_s": round(ended, 2), "first_token_s": round(ended - (total - first), 2),
            "first_seen_s": None if seen is None else round(seen / 1000, 2),
            "drawn_s": None if drawn is None else round(drawn / 1000, 2), "new_tokens": tokens,
            "asked_at": asked_at, "stats": stats.group(0), "text": text[-200:]}  # fmt: skip


REQUEST_LINE = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),(\d{3}) \w+ vlm_studio\.requests: request .*"
                          r"\btask=(\w+) .*\bfirst_token_s=([\d.]+|None) total_s=([\d.]+) queued_s=([\d.]+|None)",
                          re.MULTILINE)  # fmt: skip


def answered_requests(log: Path, task: str = "chat") -> list[dict[str, float | None]]:
    """The server's own line for each answer of ``task``, oldest first: its wait in line, the engine's
    seconds to the first token (from the moment the model started on it), the seconds from submission to
    its end, and when it was submitted (seconds since the epoch: the line's time less ``total_s``)."""
    rows = []
    for match in REQUEST_LINE.finditer(log.read_text(errors="replace")):
        stamp, millis, found, first, total, queued = match.groups()
        if found == task:
            logged_at = time.mktime(time.strptime(stamp, "%Y-%m-%d %H:%M:%S")) + int(millis) / 1000
            rows.append({"queued_s": None if queued == "None" else float(queued),
                         "engine_first_token_s": None if first == "None" else float(first),
                         "engine_total_s": float(total),
                         "submitted_at": round(logged_at - float(total), 3)})  # fmt: skip
    return rows
