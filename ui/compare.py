"""Compare on the Chat page: the same question about the same pictures to two or three models, the answers in
columns with their timings, follow-ups to all, an optional blind mode with picks, and exports."""

from __future__ import annotations

import json

import streamlit as st
from PIL import Image

from core.engines.types import Capability
from core.export import Conversation, comparison_html, comparison_json, comparison_markdown
from core.markup import safe_markdown
from core.media import NormalizedImage
from core.tasks import chat as chat_task
from core.tasks.chat import ChatParams, tiles_per_picture
from core.tasks.compare import MAX_MODELS, MIN_MODELS, TIE, Comparison
from ui import serving, state, widgets
from ui.chat import ChatOptions, read_question, render_history
from ui.generation import CURSOR, stream_into
from ui.i18n import literal, t


def _name(comparison: Comparison, index: int) -> str:
    if comparison.hidden:
        return t("compare.hidden", letter=comparison.letter(index))
    return comparison.contenders[index].title


def _candidates(active: str) -> dict[str, str]:
    """The chat models this session may pick, by id, with the picker's description."""
    found = {}
    for model_id in serving.offered_models(active):
        card = serving.card_for(model_id)
        if card is not None and card.can(Capability.CHAT):
            found[model_id] = widgets.describe(card)
    return found


def _comparison(digest: str, models: list[str], blind: bool) -> Comparison:
    """The session's comparison of ``models`` on these pictures; another choice starts a new one."""
    current = state.COMPARISON.get()
    if (current is not None and current.media_digest == digest and current.blind == blind
            and sorted(contender.model_id for contender in current.contenders) == sorted(models)):  # fmt: skip
        return current
    titles = [(model_id, card.title if (card := serving.card_for(model_id)) else model_id) for model_id in models]
    started = Comparison.start(digest, titles, blind)
    state.COMPARISON.set(started)
    return started


def _picks(comparison: Comparison) -> None:
    if comparison.awaiting_pick:
        st.caption(t("compare.pick_prompt"))
        buttons = st.columns(len(comparison.contenders) + 1)
        for index, contender in enumerate(comparison.contenders):
            if buttons[index].button(t("compare.better", name=_name(comparison, index)), key=f"compare_pick_{index}"):
                comparison.pick(contender.model_id)
                st.rerun()
        if buttons[-1].button(t("compare.tie"), key="compare_pick_tie"):
            comparison.pick(TIE)
            st.rerun()
    if any(choice is not None for choice in comparison.picks):
        record = comparison.tally_json()
        wins = ", ".join(f"{literal(row['title'])}: {row['wins']}" for row in record["wins"])
        st.caption(t("compare.tally", wins=wins, ties=record["ties"]))


def _exports(comparison: Comparison, opts: ChatOptions, pictures: tuple[Image.Image, ...], name: str) -> None:
    settings = {"max_new_tokens": opts.sampling.max_new_tokens, "tiles": opts.max_tiles, "blind": comparison.blind}
    columns = [
        Conversation(list(c.history.turns), c.model_id, c.title, settings, list(pictures), name, comparison.created_at)
        for c in comparison.contenders
    ]
    tally = comparison.tally_json()
    stem = f"comparison_{comparison.created_at:%Y%m%d_%H%M%S}"
    with st.popover(t("chat.export"), icon=":material/ios_share:"):
        widgets.export_buttons("compare", stem, comparison_markdown(columns, tally), comparison_json(columns, tally),
                               comparison_html(columns, tally))  # fmt: skip
        st.download_button(
            t("compare.download_tally"),
            json.dumps(tally, ensure_ascii=False, indent=2).encode(),
            f"picks_{comparison.created_at:%Y%m%d_%H%M%S}.json",
            "application/json",
            key="compare_export_tally",
            icon=":material/how_to_vote:",
            on_click="ignore",
        )


def render(active: str, media: NormalizedImage, pictures: tuple[Image.Image, ...], digest: str,
           opts: ChatOptions) -> None:  # fmt: skip
    labels = _candidates(active)
    # beside the session's model, the first other one this server has configured (its weights are here)
    configured = [m for m in serving.settings().extra_model_ids if m in labels and m != active]
    default = [active, *configured][:MIN_MODELS]
    models = st.multiselect(t("compare.models"), list(labels), default=[m for m in default if m in labels],
                            format_func=labels.__getitem__, max_selections=MAX_MODELS, key="compare_models",
                            help=t("compare.models_help"))  # fmt: skip
    blind = st.toggle(t("compare.blind"), key="compare_blind", help=t("compare.blind_help"))
    if len(models) < MIN_MODELS:
        st.info(t("compare.need_two"))
        return
    comparison = _comparison(digest, models, blind)
    columns = st.columns(len(comparison.contenders))
    for index, (column, contender) in enumerate(zip(columns, comparison.contenders, strict=True)):
        with column:
            st.markdown(f"**{literal(_name(comparison, index))}**")
            render_history(contender.history)
    _picks(comparison)
    if comparison.rounds:
        _exports(comparison, opts, pictures, media.name)
    question = read_question(st.chat_input(t("compare.input"), key="compare_input",
                                           disabled=comparison.awaiting_pick))  # fmt: skip
    if question is None:
        return
    comparison.ask()
    params = ChatParams(opts.sampling, tiles_per_picture(opts.max_tiles, len(pictures)), pictures,
                        repetition_guard=opts.repetition_guard)  # fmt: skip
    for index, (column, contender) in enumerate(zip(columns, comparison.contenders, strict=True)):
        client = serving.client_for(contender.model_id)
        with column:
            st.markdown(literal(question))
            slot = st.empty()
            show = lambda text, slot=slot: slot.markdown(safe_markdown(text) + CURSOR)  # noqa: E731
            stream_into(client, chat_task.build(client.family, contender.history, question, params),
                        key=f"compare_{index}", show=show,
                        on_finish=contender.history.record,
                        waiting_text=t("compare.waiting", name=_name(comparison, index)))  # fmt: skip
    st.rerun()
