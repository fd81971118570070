"""The OCR page's structured output: a page, or every page of a PDF, converted to Markdown by a document
model (Granite-Docling, SmolDocling), shown rendered beside the image with its layout and downloads."""

from __future__ import annotations

import streamlit as st
from PIL import Image

from core.annotate import annotate, png_bytes
from core.doctags import Conversion
from core.engines.loading import load_local_only, looks_like_path
from core.engines.types import EngineError
from core.markup import safe_markdown
from core.media import InvalidInput, NormalizedImage
from core.registry import converters
from core.serving import JobOutcome, ModelClient
from core.tasks import convert as convert_task
from core.tasks.convert import ConvertResult
from ui import history, pictures, serving, state, upload, widgets
from ui.generation import CURSOR, stream_into
from ui.i18n import input_error, t


def _max_new_tokens() -> int:
    configured = serving.settings().convert_max_new_tokens
    with st.sidebar.expander(t("ocr.settings")):
        chosen = st.slider(t("convert.max_new_tokens"), 16, max(8192, configured), configured, 16,
                           key="convert_max_new", help=t("convert.max_new_tokens_help"))  # fmt: skip
    return int(chosen)


def _converter() -> str:
    """The document model, remembered for the session; the configured one (DOCLING_MODEL) comes first."""
    titles = {
        model_id: card.title for model_id in converters(serving.settings()) if (card := serving.card_for(model_id))
    }
    remembered = state.CONVERT_MODEL.get()
    ids = list(titles)
    index = ids.index(remembered) if remembered in ids else 0
    chosen = st.selectbox(t("convert.model"), ids, index=index, format_func=titles.__getitem__,
                          key="convert_model", help=t("convert.model_help"))  # fmt: skip
    state.CONVERT_MODEL.set(str(chosen))
    return str(chosen)


def _ready(model_id: str) -> bool:
    """False, with the reason and the download command, when the weights are missing and cannot be fetched."""
    current = serving.settings()
    if not (current.offline or looks_like_path(model_id)):
        return True  # a hub id while online: the first run downloads it, with progress
    try:
        load_local_only(model_id, current)
    except EngineError as error:
        widgets.show_engine_error(error)
        return False
    return True


def _run(client: ModelClient, pages: list[upload.Page], max_new_tokens: int) -> None:
    """Convert ``pages`` one by one; the result is saved after every page, so Stop
    keeps them. A page is drawn only when its turn comes and let go after its answer."""
    family = client.family
    result = ConvertResult([digest for _, digest, _ in pages], client.card.title)
    state.CONVERT_RESULT.set(result)
    bar = st.progress(0.0, text=t("convert.progress", done=0, total=len(pages))) if len(pages) > 1 else None
    live = st.empty()
    for number, (_, _digest, draw) in enumerate(pages, start=1):
        try:
            image = draw()
        except InvalidInput as error:  # a damaged page: the pages before it are kept, and it is named
            result.failed_page, result.page_error = number, error
            break

        def save(outcome: JobOutcome, image: Image.Image = image) -> None:
            result.record(family, outcome, image, max_new_tokens)
            history.save_result("convert", result, media_digest=result.page_digests[0], model=client.model_id)

        stream_into(
            client,
            convert_task.build(family, image, max_new_tokens),
            key=f"convert_{number}",
            show=lambda text: live.code(text + CURSOR, language=None, wrap_lines=True, height=200),
            on_finish=save,
            waiting_text=t("convert.running", page=number, total=len(pages)),
        )
        if result.ended:
            break
        if bar is not None:
            bar.progress(number / len(pages), text=t("convert.progress", done=number, total=len(pages)))
    st.rerun()


def _summary(result: ConvertResult) -> None:
    seconds = sum(stats.seconds_total for stats in result.stats)
    tokens = sum(stats.new_tokens for stats in result.stats)
    st.caption(t("convert.done", pages=len(result.documents), model=result.model_title, seconds=f"{seconds:.1f}",
                 tokens=tokens))  # fmt: skip
    if result.error is not None:
        st.error(widgets.error_text(result.error))
    if result.page_error is not None:
        st.error(f"{t('convert.page_failed', page=result.failed_page)} {input_error(result.page_error)}")
    if result.stopped:
        st.warning(t("convert.stopped", done=len(result.documents), total=len(result.page_digests)))
    if result.looped:
        st.warning(t("convert.looped", pages=", ".join(map(str, result.looped))))
    if result.cut_short:
        st.warning(t("convert.cut_short", pages=", ".join(map(str, result.cut_short))))


def _show(result: ConvertResult, conversion: Conversion) -> None:
    markdown = conversion.markdown()
    stem = f"document_{result.stamp}"
    md, html, js = st.columns(3)
    md.download_button(t("convert.download_md"), markdown.encode("utf-8"), f"{stem}.md",
                       "text/markdown; charset=utf-8", key="convert_md", icon=":material/download:",
                       on_click="ignore")  # fmt: skip
    html.download_button(t("convert.download_html"), conversion.html().encode("utf-8"), f"{stem}.html",
                         "text/html; charset=utf-8", key="convert_html", icon=":material/html:",
                         on_click="ignore")  # fmt: skip
    js.download_button(t("convert.download_json"), conversion.json().encode("utf-8"), f"{stem}.json",
                       "application/json", key="convert_json", icon=":material/data_object:",
                       on_click="ignore")  # fmt: skip
    rendered, source = st.tabs([t("convert.tab_rendered"), t("convert.tab_source")])
    with rendered:
        if markdown.strip():
            st.markdown(safe_markdown(markdown, math=True))  # the document's formulas render, nothing else acts
        else:
            st.info(t("convert.empty"))
    with source:
        st.code(markdown, language="markdown", wrap_lines=True)


def _layout(result: ConvertResult, conversion: Conversion, media: NormalizedImage) -> Image.Image | None:
    """The page's elements drawn with their kind (None when the toggle is off or the page was not converted)."""
    page_no = result.page_of(media.digest)
    if page_no is None:
        return None
    if not st.toggle(t("convert.show_layout"), key="convert_show_layout", help=t("convert.show_layout_help")):
        return None
    elements = conversion.layout(page_no)
    if not elements:
        st.info(t("convert.no_layout"))
        return None
    annotated = annotate(media.image, elements)
    st.download_button(t("convert.download_layout"), png_bytes(annotated), f"layout_{result.stamp}_p{page_no}.png",
                       "image/png", key="convert_layout_png", icon=":material/image:", on_click="ignore")  # fmt: skip
    return annotated


def render(media: NormalizedImage) -> None:
    max_new_tokens = _max_new_tokens()
    preview, work = st.columns([2, 3], gap="large")
    annotated = None
    with work:
        model_id = _converter()
        ready = _ready(model_id)
        pages = state.page_count(media)
        left, right = st.columns(2)
        everything = None
        if left.button(t("convert.run"), type="primary", key="convert_run", icon=":material/article:",
                       disabled=not ready):  # fmt: skip
            everything = False
        if pages > 1 and right.button(t("convert.run_all", pages=pages), key="convert_run_all",
                                      icon=":material/library_books:", disabled=not ready):  # fmt: skip
            everything = True
        if everything is not None:
            _run(serving.client_for(model_id), upload.pages_to_read(media, everything), max_new_tokens)
        result = state.CONVERT_RESULT.get()
        if result is not None and (result.page_of(media.digest) or media.digest in result.page_digests):
            _summary(result)
            conversion = result.conversion
            if conversion is not None:
                annotated = _layout(result, conversion, media)
                _show(result, conversion)
    with preview:
        pictures.show(annotated or media.image, caption=media.name)
