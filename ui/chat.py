"""The chat conversation widget: history, quick prompts, streaming answers with Stop."""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st
from PIL import Image

from core.documents import PdfDocument, render_page
from core.engines.tiling import TILE_BUDGETS
from core.engines.types import GenerationRequest, GenerationStats, Role, SamplingParams, VideoClip
from core.export import Conversation, to_html, to_json, to_markdown
from core.markup import safe_markdown
from core.media import InvalidInput, NormalizedImage
from core.serving import JobOutcome, ModelClient
from core.settings import MAX_NEW_TOKENS_LIMIT
from core.tasks import chat as chat_task
from core.tasks.chat import (
    ChatHistory,
    ChatParams,
    clean_question,
    default_chat_tiles,
    quick_prompt,
    tiles_per_picture,
)
from core.video import NormalizedVideo
from ui import pictures as pictures_view
from ui import prepare, serving, state, widgets
from ui.generation import CURSOR, stream_into
from ui.history import AnswerRecorder
from ui.i18n import input_error, language, literal, t


@dataclass(frozen=True)
class ChatOptions:
    sampling: SamplingParams
    max_tiles: int
    repetition_guard: bool = False


def options(chosen: ModelClient, prefix: str = "chat") -> ChatOptions:
    """Generation settings in the sidebar; small tile budget by default on CPU to keep answers quick."""
    configured = serving.settings().max_new_tokens
    with st.sidebar.expander(t("chat.settings"), expanded=False):
        max_new_tokens = st.slider(
            t("chat.max_new_tokens"), 16, MAX_NEW_TOKENS_LIMIT, configured, 16, key=f"{prefix}_max_new"
        )
        sampling = st.toggle(t("chat.sampling"), key=f"{prefix}_sampling", help=t("chat.sampling_help"))
        temperature = st.slider(
            t("chat.temperature"), 0.05, 2.0, 0.7, 0.05, key=f"{prefix}_temperature", disabled=not sampling
        )
        top_p = st.slider(t("chat.top_p"), 0.05, 1.0, 0.9, 0.05, key=f"{prefix}_top_p", disabled=not sampling)
        st.markdown(f"**{t('chat.advanced')}**")
        default_tiles = default_chat_tiles(chosen.runtime.device)
        max_tiles = st.select_slider(
            t("chat.tiles"),
            options=list(TILE_BUDGETS),
            value=default_tiles,
            help=t("chat.tiles_help", tile=chosen.card.tile_px or 512),
            key=f"{prefix}_tiles",
        )
        guard = st.toggle(t("chat.repetition_guard"), key=f"{prefix}_repetition_guard",
                          help=t("chat.repetition_guard_help"))  # fmt: skip
    return ChatOptions(SamplingParams(max_new_tokens, sampling, temperature, top_p), int(max_tiles), guard)


def stats_caption(stats: GenerationStats, video: bool = False, first_answer: bool = False) -> str:
    """Tokens, time, first token, decode speed and what the vision encoder saw (tiles, or frames of a video)."""
    first, speed = stats.seconds_to_first_token, stats.tokens_per_second
    caption = t(
        "chat.stats_video" if video else "chat.stats",
        tokens=stats.new_tokens,
        seconds=f"{stats.seconds_total:.1f}",
        first="—" if first is None else f"{first:.2f}" if first < 1 else f"{first:.1f}",
        speed="—" if speed is None else f"{speed:.1f}",
        tiles=stats.image_tiles,
    )
    if stats.image_tokens:
        caption = f"{caption} · {t('chat.stats_image_tokens', tokens=stats.image_tokens)}"
    if stats.reused_prompt_tokens:
        # the first answer re-used a prefix only because the picture was prepared before the question
        key = "chat.stats_reused_video" if video else "chat.stats_prepared" if first_answer else "chat.stats_reused"
        reused = t(key, tokens=stats.reused_prompt_tokens)
        caption = f"{caption} · {reused}"
    return caption


def render_history(history: ChatHistory, video: bool = False) -> None:
    answers = 0
    for turn in history.turns:
        answers += turn.role is Role.ASSISTANT
        with st.chat_message(turn.role.value):
            if turn.error is not None:
                if turn.text:  # what arrived before the failure (a dropped connection) is kept
                    st.markdown(safe_markdown(turn.text))
                st.error(widgets.error_text(turn.error))
                continue
            if turn.role is Role.USER:
                st.markdown(literal(turn.text))  # exactly what was typed, never markup
            else:
                st.markdown(safe_markdown(turn.text) if turn.text else t("chat.empty_answer"))
            notes = []
            if turn.interrupted:
                notes.append(f"⏹ {t('chat.interrupted')}")
            elif turn.looped:
                notes.append(f"⏹ {t('generation.looped')}")
            elif turn.stopped:
                notes.append(f"⏹ {t('chat.stopped')}")
            if turn.stats is not None:
                notes.append(stats_caption(turn.stats, video, first_answer=answers == 1))
            if notes:
                st.caption(" · ".join(notes))


def read_question(raw: str | None) -> str | None:
    """The question to send, or None (with a warning when it was typed but unusable)."""
    if raw is None:
        return None
    try:
        return clean_question(raw)
    except InvalidInput as error:
        st.warning(input_error(error))
        return None


def ask(
    chosen: ModelClient,
    history: ChatHistory,
    question: str,
    opts: ChatOptions,
    images: tuple[Image.Image, ...] = (),
    videos: tuple[VideoClip, ...] = (),
) -> None:
    """Ask ``question`` about the media and stream the answer below the history."""
    tiles = tiles_per_picture(opts.max_tiles, len(images))
    params = ChatParams(opts.sampling, tiles, images, videos, task="video" if videos else "chat",
                        repetition_guard=opts.repetition_guard)  # fmt: skip
    answer(chosen, history, question, chat_task.build(chosen.family, history, question, params), key="chat")


def answer(chosen: ModelClient, history: ChatHistory, question: str, request: GenerationRequest, key: str,
           *, stored: bool = True) -> None:  # fmt: skip
    """Show ``question`` and stream the answer to ``request`` (a task module built it) into ``history``.

    Any rerun (Stop, a new question, leaving the page) stops it; the partial answer is kept, and with
    ``stored`` the history keeps it too, written as it streams.
    """
    recorder = AnswerRecorder(history, chosen.model_id) if stored else None
    if recorder is not None:
        recorder.begin()

    def show(text: str) -> None:
        text_slot.markdown(safe_markdown(text) + CURSOR)
        if recorder is not None:
            recorder.progress(text)

    def finish(outcome: JobOutcome) -> None:
        turn = history.record(outcome)
        if recorder is not None:
            recorder.finish(turn)

    with st.chat_message(Role.USER.value):
        st.markdown(literal(question))
    with st.chat_message(Role.ASSISTANT.value):
        text_slot = st.empty()
        stream_into(chosen, request, key=key, show=show, on_finish=finish, waiting_text=t("chat.thinking"))
    st.rerun()


def _export(chosen: ModelClient, history: ChatHistory, opts: ChatOptions,
            media: NormalizedImage | NormalizedVideo) -> None:  # fmt: skip
    """The conversation as Markdown, JSON and a self-contained HTML page, with the pictures as thumbnails."""
    pictures = list(media.clip.frames[:: max(1, len(media.clip.frames) // 4)][:4]) if isinstance(
        media, NormalizedVideo) else [media.image]  # fmt: skip
    sampling = opts.sampling
    settings = {"max_new_tokens": sampling.max_new_tokens, "sampling": sampling.do_sample, "tiles": opts.max_tiles,
                "repetition_guard": opts.repetition_guard}  # fmt: skip
    if sampling.do_sample:
        settings |= {"temperature": sampling.temperature, "top_p": sampling.top_p}
    conversation = Conversation(list(history.turns), chosen.model_id, chosen.card.title, settings, pictures,
                                media.name)  # fmt: skip
    with st.popover(t("chat.export"), icon=":material/ios_share:"):
        widgets.export_buttons("chat", conversation.stem, to_markdown(conversation), to_json(conversation),
                               to_html(conversation))  # fmt: skip


def _drawn_pages(document: PdfDocument, first: int, last: int) -> tuple[Image.Image, ...]:
    """Pages ``first``..``last`` (1-based) drawn once for the session; asking again reuses them."""

    def draw() -> tuple[Image.Image, ...]:
        with st.spinner(t("chat.pictures_drawing")):
            return tuple(render_page(document, index).image for index in range(first - 1, last))

    return state.made_once(state.CHAT_PICTURES, f"{document.digest}-p{first}-{last}", draw)


def _pictures(chosen: ModelClient, media: NormalizedImage) -> tuple[tuple[Image.Image, ...], str]:
    """The pictures this question is about (the page on show, several PDF pages, or the photos added on Home),
    within the family's budget, and the key their conversation is kept under."""
    document = state.document_of(media)
    pages = state.page_count(media)
    extra: tuple[NormalizedImage, ...] = state.MORE_PICTURES.get() or ()
    if pages == 1 and not extra:
        return (media.image,), media.digest
    several = t("chat.pictures_pages", pages=pages) if pages > 1 else t("chat.pictures_photos", count=len(extra) + 1)
    labels = {"one": t("chat.pictures_one"), "several": several}
    choice = st.radio(t("chat.pictures"), list(labels), format_func=labels.__getitem__, horizontal=True,
                      key="chat_pictures_choice")  # fmt: skip
    if choice == "one":
        return (media.image,), media.digest
    budget, title = chosen.family.max_images, chosen.card.title
    if budget == 1:
        st.info(t("chat.pictures_one_only", model=title))
        return (media.image,), media.digest
    if document is not None and pages > 1:
        first, last = st.slider(t("chat.pictures_range"), 1, pages, (1, min(pages, budget)), key="chat_pictures_range")
        if last - first + 1 > budget:
            last = first + budget - 1
            st.caption(t("chat.pictures_capped", budget=budget, model=title, first=first, last=last))
        pictures, key = _drawn_pages(document, first, last), f"{document.digest}-p{first}-{last}"
    else:
        chosen_pictures = [media, *extra][:budget]
        if len(extra) + 1 > budget:
            st.caption(t("chat.pictures_capped_photos", budget=budget, model=title))
        pictures = tuple(picture.image for picture in chosen_pictures)
        key = "+".join(picture.digest for picture in chosen_pictures)
    st.caption(t("chat.pictures_budget", count=len(pictures), budget=budget, model=title))
    pictures_view.show_strip(pictures, 96)  # the strip of what the model sees
    return pictures, key


@dataclass(frozen=True)
class Setup:
    """What a question is asked about and how: the pictures, the key of their conversation, the settings."""

    pictures: tuple[Image.Image, ...]
    digest: str
    opts: ChatOptions


def setup(chosen: ModelClient, media: NormalizedImage | NormalizedVideo) -> Setup:
    pictures, digest = _pictures(chosen, media) if isinstance(media, NormalizedImage) else ((), media.digest)
    return Setup(pictures, digest, options(chosen))


def comparing(media: NormalizedImage | NormalizedVideo) -> bool:
    """The Compare switch (pictures only): the same question to two or three models side by side."""
    if not isinstance(media, NormalizedImage):
        return False
    return bool(st.toggle(t("compare.toggle"), key="chat_compare", help=t("compare.toggle_help")))


def render(chosen: ModelClient, media: NormalizedImage | NormalizedVideo, asked: Setup) -> None:
    pictures, digest, opts = asked.pictures, asked.digest, asked.opts
    history = state.chat_history(media, digest)
    is_video = isinstance(media, NormalizedVideo)

    top = st.columns([1, 3])
    with top[0]:
        if isinstance(media, NormalizedVideo):
            st.caption(t("chat.video_frames", frames=len(media.clip.frames), seconds=f"{media.duration_s:.1f}"))
            widgets.frame_strip(media, columns=2)
        else:
            pictures_view.show(media.image, caption=f"{media.width}×{media.height}")
        if st.button(t("chat.clear"), key="chat_clear", icon=":material/delete:", disabled=not history.turns):
            state.reset_chat(media)
            st.rerun()
    with top[1]:
        quick = st.columns(2)
        pressed = None
        suffix = "_video" if is_video else ""
        if quick[0].button(t("chat.quick_brief"), key="chat_quick_brief", width="stretch"):
            pressed = quick_prompt(f"brief{suffix}", language())
        if quick[1].button(t("chat.quick_detailed"), key="chat_quick_detailed", width="stretch"):
            pressed = quick_prompt(f"detailed{suffix}", language())
        render_history(history, video=is_video)
        export_slot = st.empty()
        if not history.turns and len(pictures) == 1:
            prepare.prepare(media, chosen)  # the first question only pays for its own words
        typed = st.chat_input(t("chat.input_video" if is_video else "chat.input"), key="chat_input")
        question = read_question(pressed if pressed is not None else typed)
        if question is None:
            if history.turns:
                with export_slot.container():
                    _export(chosen, history, opts, media)
            return
        # a run that asks leaves the export to the run after the answer: its question goes out sooner
        if isinstance(media, NormalizedVideo):
            ask(chosen, history, question, opts, videos=(media.clip,))
        else:
            ask(chosen, history, question, opts, images=pictures)
