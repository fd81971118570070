from __future__ import annotations

import re

import pytest
from PIL import Image

from core.engines.types import GenerationStats, Role, SamplingParams, VideoClip
from core.i18n import catalogue
from core.media import InvalidInput
from core.tasks.chat import QUICK_PROMPT_KINDS, ChatHistory, ChatTurn, clean_question, quick_prompt


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ("", "chat.empty_question"),  # nothing typed
        ("   \n\t ", "chat.empty_question"),  # whitespace only
        (None, "chat.empty_question"),
        ("x" * 5000, "text.too_long"),
    ],
)
def test_bad_questions_are_refused(raw, key):
    with pytest.raises(InvalidInput) as caught:
        clean_question(raw)
    assert caught.value.key == key


def test_question_is_trimmed():
    assert clean_question("  What colour is the car?  \n") == "What colour is the car?"


@pytest.mark.parametrize("kind", QUICK_PROMPT_KINDS)
def test_quick_prompts_are_written_in_each_language(kind):
    # Each language's own catalogue has the prompt (no fallback to English hides a missing one) ...
    assert catalogue("ru")[f"prompt.{kind}"].strip() and catalogue("en")[f"prompt.{kind}"].strip()
    # ... and the prompt asks in that language, so the answer comes back in it.
    assert re.search("[а-яё]", quick_prompt(kind, "ru"), re.IGNORECASE)
    assert not re.search("[а-яё]", quick_prompt(kind, "en"), re.IGNORECASE)


def test_an_unknown_quick_prompt_is_refused():
    with pytest.raises(ValueError):
        quick_prompt("poem", "en")


def test_first_question_carries_the_image():
    image = Image.new("RGB", (10, 10))
    request = ChatHistory("d").request_for("What is it?", SamplingParams(), 4, images=(image,))
    assert len(request.messages) == 1
    assert request.messages[0].images == (image,)
    assert request.max_tiles == 4


def test_follow_up_keeps_history_and_image_on_the_first_turn():
    image = Image.new("RGB", (10, 10))
    history = ChatHistory("d", [ChatTurn(Role.USER, "Q1"), ChatTurn(Role.ASSISTANT, "A1")])
    request = history.request_for("Q2", SamplingParams(), None, images=(image,))
    assert [(m.role, m.text) for m in request.messages] == [
        (Role.USER, "Q1"),
        (Role.ASSISTANT, "A1"),
        (Role.USER, "Q2"),
    ]
    assert request.messages[0].images == (image,)
    assert request.messages[2].images == ()


def test_failed_or_empty_answers_are_left_out_and_roles_alternate():
    image = Image.new("RGB", (10, 10))
    history = ChatHistory(
        "d",
        [
            ChatTurn(Role.USER, "Q1"),
            ChatTurn(Role.ASSISTANT, "", error="boom"),
            ChatTurn(Role.USER, "Q2"),
            ChatTurn(Role.ASSISTANT, "", stopped=True),  # stopped before the first word
        ],
    )
    request = history.request_for("Q3", SamplingParams(), None, images=(image,))
    assert [(m.role, m.text) for m in request.messages] == [(Role.USER, "Q3")]
    assert request.messages[0].images == (image,)


def test_stopped_answer_with_text_is_kept():
    image = Image.new("RGB", (10, 10))
    history = ChatHistory("d", [ChatTurn(Role.USER, "Q1"), ChatTurn(Role.ASSISTANT, "partial", stopped=True)])
    request = history.request_for("Q2", SamplingParams(), None, images=(image,))
    assert [m.text for m in request.messages] == ["Q1", "partial", "Q2"]


@pytest.mark.parametrize(
    "kwargs",
    [{"max_new_tokens": 0}, {"do_sample": True, "temperature": 0.0}, {"do_sample": True, "top_p": 1.5}],
)
def test_invalid_sampling_is_refused(kwargs):
    with pytest.raises(ValueError):
        SamplingParams(**kwargs)


def test_greedy_sends_no_sampling_knobs():
    assert SamplingParams(max_new_tokens=5, temperature=0.3).generate_kwargs() == {
        "max_new_tokens": 5,
        "do_sample": False,
    }


@pytest.mark.parametrize(
    ("stats", "expected"),
    [
        (GenerationStats(new_tokens=11, seconds_to_first_token=1.0, seconds_total=3.0), 5.0),  # 10 tokens in 2 s
        (GenerationStats(new_tokens=1, seconds_to_first_token=1.0, seconds_total=1.0), None),  # nothing decoded after
        (GenerationStats(new_tokens=5, seconds_to_first_token=None, seconds_total=2.0), None),  # never started
    ],
)
def test_decode_speed_leaves_out_the_first_token(stats, expected):
    assert stats.tokens_per_second == expected


def test_a_video_goes_with_the_first_question_only():
    clip = VideoClip((Image.new("RGB", (8, 8)),), (0.0,), 1.0)
    history = ChatHistory("v", [ChatTurn(Role.USER, "Q1"), ChatTurn(Role.ASSISTANT, "A1")])
    request = history.request_for("Q2", SamplingParams(), None, videos=(clip,))
    assert request.messages[0].videos == (clip,) and request.messages[0].images == ()
    assert request.messages[2].videos == ()


def test_build_records_the_question_and_asks_it_with_the_media():
    from core.families import FAMILIES
    from core.tasks import chat

    image = Image.new("RGB", (10, 10))
    history = ChatHistory("d")
    params = chat.ChatParams(SamplingParams(), 4, images=(image,))
    request = chat.build(FAMILIES["smolvlm"], history, "What is it?", params)
    assert [(turn.role, turn.text) for turn in history.turns] == [(Role.USER, "What is it?")]
    assert request.messages[-1].text == "What is it?" and request.messages[0].images == (image,)
    assert request.reuse_prefix and request.max_tiles == 4


def test_build_refuses_video_for_a_family_that_does_not_take_it():
    from core.families import FAMILIES
    from core.tasks import chat

    clip = VideoClip((Image.new("RGB", (10, 10)),), (0.0,), 1.0)
    history = ChatHistory("d")
    with pytest.raises(ValueError):
        chat.build(
            FAMILIES["qwen2_5_vl"], history, "What happens?", chat.ChatParams(SamplingParams(), 4, videos=(clip,))
        )
    assert history.turns == []  # nothing recorded for a request that was never made


def test_region_build_sends_the_plans_pictures_and_its_own_question_as_written():
    from core.boxes import Box
    from core.families import FAMILIES
    from core.registry import CATALOGUE
    from core.tasks import region

    family = FAMILIES["smolvlm"]
    card = next(card for card in CATALOGUE if card.family == "smolvlm")
    image = Image.new("RGB", (400, 300))
    conversation = region.RegionConversation.start(family, card, image, "d", Box(10, 20, 110, 120), "en")
    first = region.build(family, conversation, None, SamplingParams(), 2)
    assert first.messages[0].images == conversation.plan.images and len(first.messages[0].images) == 2
    assert first.messages[-1].text == conversation.plan.question and first.task == "region"
    assert conversation.history.turns[-1].from_app  # the app's own prompt goes as it is
    follow = region.build(family, conversation, "<image> and the colour?", SamplingParams(), 2)
    assert "<image>" not in follow.messages[-1].text  # typed text is made plain, as in chat
