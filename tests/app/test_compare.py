"""Compare on the Chat page (AppTest): two tiny models answer the same question in columns through their real
engines; blind mode names the columns by letter until a pick, then tallies it; the exports are offered."""

from __future__ import annotations

from tests.app.conftest import upload_and_open
from tests.conftest import image_bytes
from ui.i18n import literal


def _compare_page(app_env, tiny_models):
    app_env.setenv("EXTRA_MODEL_IDS", str(tiny_models["qwen2_5_vl"]))
    at = upload_and_open(("cat.png", image_bytes((300, 200), "orange"), "image/png"), "pages/1_Chat.py")
    at.toggle(key="chat_compare").set_value(True).run()
    assert not at.exception
    return at


def _headings(at) -> list[str]:
    return [
        element.value for element in at.markdown if element.value.startswith("**") and "Advanced" not in element.value
    ]


def test_the_same_question_goes_to_both_models_in_columns(app_env, tiny_models):
    at = _compare_page(app_env, tiny_models)
    assert at.multiselect(key="compare_models").value == [str(tiny_models["smolvlm"]), str(tiny_models["qwen2_5_vl"])]
    at.chat_input(key="compare_input").set_value("What colour is it?").run()
    assert not at.exception and not at.error
    comparison = at.session_state["chat_comparison"]
    assert [contender.model_id for contender in comparison.contenders] == at.multiselect(key="compare_models").value
    for contender in comparison.contenders:  # each model answered through its own real engine, with its stats
        question, answer = contender.history.turns
        assert question.text == "What colour is it?" and answer.stats is not None and answer.stats.new_tokens > 0
    assert len(at.columns) >= 2 and not any("Model A" in heading for heading in _headings(at))
    labels = [button.proto.label for button in at.get("download_button")]
    assert {"Conversation .md", "Conversation .json", "Conversation .html (one file)", "Picks .json"} <= set(labels)
    at.chat_input(key="compare_input").set_value("And the shape?").run()  # a follow-up goes to both
    assert all(len(contender.history.turns) == 4 for contender in comparison.contenders)


def test_blind_mode_reveals_the_names_only_after_a_pick(app_env, tiny_models):
    at = _compare_page(app_env, tiny_models)
    at.toggle(key="compare_blind").set_value(True).run()
    assert _headings(at) == ["**Model A**", "**Model B**"]
    at.chat_input(key="compare_input").set_value("Describe it.").run()
    assert _headings(at) == ["**Model A**", "**Model B**"]  # answered, still hidden
    assert at.chat_input(key="compare_input").disabled  # a pick first
    at.button(key="compare_pick_1").click().run()
    comparison = at.session_state["chat_comparison"]
    titles = [contender.title for contender in comparison.contenders]
    assert _headings(at) == [f"**{literal(title)}**" for title in titles]  # revealed (as literal text)
    assert comparison.tally()[comparison.contenders[1].model_id] == 1
    assert any("Picks so far" in caption.value for caption in at.caption)
