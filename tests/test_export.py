"""A conversation exported as Markdown, JSON and one HTML page: everything in the file, model text inert."""

from __future__ import annotations

import json
from html.parser import HTMLParser

from PIL import Image

from core.engines.types import EngineError, GenerationStats, Role
from core.export import Conversation, to_html, to_json, to_markdown
from core.tasks.chat import ChatTurn

HOSTILE = "Here: <script>alert(1)</script> <img src=https://evil.example/x.png> ``` fence"
TURNS = [
    ChatTurn(Role.USER, "Что на картинке?"),
    ChatTurn(
        Role.ASSISTANT,
        HOSTILE,
        stats=GenerationStats(
            prompt_tokens=120, new_tokens=12, image_tiles=5, seconds_to_first_token=0.8, seconds_total=2.0
        ),
    ),
    ChatTurn(Role.USER, "А подробнее?"),
    ChatTurn(
        Role.ASSISTANT,
        "снова",
        stopped=True,
        looped=True,
        stats=GenerationStats(
            prompt_tokens=130,
            new_tokens=40,
            image_tiles=5,
            reused_prompt_tokens=120,
            seconds_to_first_token=0.1,
            seconds_total=3.0,
        ),
    ),
    ChatTurn(Role.USER, "Ещё?"),
    ChatTurn(Role.ASSISTANT, "", error=EngineError("boom")),
]


def _conversation() -> Conversation:
    return Conversation(TURNS, "HuggingFaceTB/SmolVLM2-256M", "SmolVLM2 256M", {"max_new_tokens": 512, "tiles": 4},
                        [Image.new("RGB", (1600, 1200), "teal")], "счёт.png")  # fmt: skip


def test_json_holds_turns_model_settings_timings_and_a_thumbnail():
    data = json.loads(to_json(_conversation()))
    assert data["model"] == "HuggingFaceTB/SmolVLM2-256M" and data["settings"] == {"max_new_tokens": 512, "tiles": 4}
    assert [turn["role"] for turn in data["turns"]] == ["user", "assistant"] * 3
    assert data["turns"][1]["text"] == HOSTILE and data["turns"][1]["stats"]["new_tokens"] == 12
    assert data["turns"][3]["stats"]["reused_prompt_tokens"] == 120
    assert data["turns"][3]["ended"] == "stopped: the model was repeating itself"
    assert data["turns"][5]["ended"] == "error: engine.failed"
    assert data["pictures"][0].startswith("data:image/jpeg;base64,") and len(data["pictures"][0]) < 60_000


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def test_the_html_page_is_self_contained_and_shows_model_text_as_text():
    page = to_html(_conversation())
    parser = _Tags()
    parser.feed(page)
    tags = [tag for tag, _ in parser.tags]
    assert "script" not in tags  # the answer's <script> is text
    images = [attrs for tag, attrs in parser.tags if tag == "img"]
    assert len(images) == 1 and images[0]["src"].startswith("data:image/jpeg;base64,")  # the thumbnail only
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "Что на картинке?" in page
    assert "https://" not in page.replace("https://evil.example/x.png&gt;", "")  # nothing fetched from outside


def test_markdown_fences_every_turn_longer_than_any_fence_inside_it():
    text = to_markdown(_conversation())
    assert text.startswith("# Conversation: счёт.png") and "SmolVLM2 256M" in text
    assert "````text\n" + HOSTILE + "\n````" in text  # the answer's own ``` cannot close its block
    assert "stopped: the model was repeating itself" in text and "12 tokens" in text
    assert "![picture 1](data:image/jpeg;base64," in text
