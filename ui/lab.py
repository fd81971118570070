"""The Lab page's widgets: documents and models in, a background run with progress, comparison and report."""

from __future__ import annotations

import json
import shutil
import tempfile
import uuid
from pathlib import Path

import streamlit as st

from core.engines.types import SamplingParams
from core.extraction.templates import builtin_templates
from core.lab.config import DEFAULT_FIELDS, TASKS, LabModel, typed_questions
from core.lab.job import LabJob, stage_files
from core.lab.report import report_markdown
from core.lab.runner import ClientFactory, discover
from core.markup import safe_markdown
from core.media import InvalidInput
from core.registry import converters, program_cards
from core.serving import Phase, Priority
from core.settings import Settings
from core.tasks import needs
from ui import serving, state, widgets
from ui.generation import describe_wait
from ui.i18n import input_error, language, t

LOOSE_FIELDS = "-"  # the template choice meaning "no template: the loose fields"


def _batch_clients() -> ClientFactory:
    """The Lab asks the server's serving core for each model as batch work: people's questions go first,
    and no session's model choice changes."""
    core, owner = serving.serving(), f"lab:{uuid.uuid4().hex[:8]}"
    return lambda model_id, quant: core.client(model_id, owner, Priority.BATCH, quantization=quant)


def _server_folder(settings: Settings) -> Path | None:
    """The server's document folder, when one is configured and the user picks it over uploading."""
    folder = settings.lab_documents_dir
    if folder is None or not folder.is_dir():
        return None
    labels = [t("lab.source_upload"), t("lab.source_server", folder=str(folder))]
    chosen = st.radio(t("lab.source"), labels, horizontal=True, key=f"lab_source_{language()}")
    return folder if chosen == labels[1] else None


def _unfit(model_ids: list[str], task: str) -> str | None:
    """The first chosen model that cannot do ``task``, by its card's abilities (None: all can)."""
    for model_id in model_ids:
        card = serving.card_for(model_id)
        if card is not None and not card.can(needs(task)):
            return card.title
    return None


def _inputs(server_folder: Path | None, uploads: list, references: list) -> tuple[Path | None, Path, Path | None]:
    """(a workspace to delete afterwards or None, the documents' folder, the references' folder or None)."""
    if server_folder is not None:
        references_dir = server_folder / "references"
        return None, server_folder, references_dir if references_dir.is_dir() else None
    workspace = Path(tempfile.mkdtemp(prefix="vlm-lab-inputs-"))
    documents = stage_files([(f.name, f.getvalue()) for f in uploads], workspace / "documents")
    staged = stage_files([(f.name, f.getvalue()) for f in references or []], workspace / "references")
    return workspace, documents, staged if references else None


def _template_choice() -> str | None:
    """Extract on a shipped template (decoded under its schema, scored on its fields, checks counted) or on the
    loose fields of earlier runs (seller, number, date, total: a prompt and a repaired answer)."""
    templates = builtin_templates()
    labels = {LOOSE_FIELDS: t("lab.template_loose", fields=", ".join(DEFAULT_FIELDS))}
    labels |= {template_id: template.name(language()) for template_id, template in templates.items()}
    chosen = st.selectbox(t("lab.template"), list(labels), format_func=labels.__getitem__, key="lab_template",
                          help=t("lab.template_help"))  # fmt: skip
    return None if chosen == LOOSE_FIELDS else str(chosen)


def _form() -> None:
    settings = serving.settings()
    server_folder = _server_folder(settings)
    uploads, references = [], []
    if server_folder is None:
        uploads = st.file_uploader(t("lab.documents"), accept_multiple_files=True, key="lab_uploads",
                                   type=["jpg", "jpeg", "png", "webp", "pdf"])  # fmt: skip
        references = st.file_uploader(t("lab.references"), accept_multiple_files=True, key="lab_references",
                                      type=["json", "txt", "md"], help=t("lab.references_help"))  # fmt: skip
    # The OCR programs (a classical baseline) and the document converters are offered beside the chat models.
    programs = [card.model_id for card in program_cards()]
    offered = [*serving.offered_models(serving.default_model_id()), *programs, *converters(settings)]
    labels = {widgets.describe(card): card.model_id for card in filter(None, map(serving.card_for, offered))}
    chosen = st.multiselect(t("lab.models"), list(labels), key="lab_models")
    columns = st.columns(3)
    task = columns[0].selectbox(t("lab.task"), TASKS, key="lab_task")
    if task == "convert":  # a page of DocTags is long: its own limit, from CONVERT_MAX_NEW_TOKENS
        max_new_tokens = columns[1].number_input(t("lab.max_new_tokens"), 16, 8192, settings.convert_max_new_tokens,
                                                 key="lab_convert_max_new")  # fmt: skip
    else:
        max_new_tokens = columns[1].number_input(t("lab.max_new_tokens"), 8, 4096, 256, key="lab_max_new")
    max_pages = columns[2].number_input(t("lab.max_pages"), 1, 50, 1, key="lab_max_pages")
    questions = ""
    if task == "vqa":
        questions = st.text_area(t("lab.questions"), key="lab_questions")
    template = _template_choice() if task == "extract" else None
    if not st.button(t("lab.start"), type="primary", key="lab_start", icon=":material/play_arrow:"):
        return
    try:
        question_list = typed_questions(questions)
    except InvalidInput as error:
        st.warning(input_error(error))
        return
    if (not uploads and server_folder is None) or not chosen or (task == "vqa" and not question_list):
        st.warning(t("lab.incomplete"))
        return
    unfit = _unfit([labels[label] for label in chosen], task)
    if unfit is not None:
        st.warning(t("lab.cannot_do_task", model=unfit, task=task))
        return
    workspace, documents, reference_dir = _inputs(server_folder, uploads, references)
    items = discover(documents, int(max_pages))
    if not items:
        if workspace is not None:
            shutil.rmtree(workspace, ignore_errors=True)
        st.warning(t("lab.no_documents"))
        return
    models = [
        LabModel(name=f"m{index + 1}-{labels[label].rstrip('/').split('/')[-1]}"[:60].replace(" ", "_"),
                 model_id=labels[label], task=task, questions=question_list, fields=DEFAULT_FIELDS, template=template,
                 generation=SamplingParams(max_new_tokens=int(max_new_tokens)))
        for index, label in enumerate(chosen)
    ]  # fmt: skip
    concurrency = settings.remote_parallel if settings.engine == "openai" else 1  # the server batches them
    job = LabJob(models, items, reference_dir, _batch_clients(), inputs=workspace, concurrency=concurrency)
    job.start()
    state.LAB_JOB.set(job)
    st.rerun()


@st.fragment(run_every=1.0)
def _progress(job: LabJob) -> None:
    if job.finished.is_set():
        st.rerun()  # the whole page, to show the results
    share = job.done / job.total if job.total else 0.0
    left = "—" if job.seconds_left is None else f"{job.seconds_left:.0f}"
    st.progress(share, text=t("lab.progress", done=job.done, total=job.total, seconds=left, what=job.current))
    waiting = job.waiting
    if waiting is not None:
        card = serving.card_for(job.waiting_for)
        detail = describe_wait(waiting, card.title if card else job.waiting_for, "", 0)
        st.caption(t("lab.waiting", detail=detail) if waiting.phase is Phase.QUEUED else detail)
    if st.button(t("lab.cancel"), key="lab_cancel", icon=":material/cancel:"):
        job.stop.set()


def _results(job: LabJob) -> None:
    if job.error:
        st.error(t("lab.failed", detail=job.error))
        return
    report = job.report or {}
    if job.summary is not None and job.summary.cancelled:
        st.warning(t("lab.cancelled"))
    rows = report.get("models", [])
    st.subheader(t("lab.comparison"))
    st.dataframe(
        [{t("lab.col_model"): r["name"], t("lab.col_accuracy"): r.get("accuracy"),
          t("lab.col_latency"): r["latency_mean_s"], t("lab.col_p95"): r["latency_p95_s"],
          t("lab.col_speed"): r["tokens_per_second"], t("lab.col_failures"): r["failures"],
          t("lab.col_loops"): r.get("loops", 0),
          **({t("lab.col_tables"): r.get("table_accuracy")} if r["task"] == "convert" else {}),
          **({t("lab.col_valid_json"): r.get("valid_json_pct"), t("lab.col_checks"): r.get("checks_passed_pct"),
              t("lab.col_line_items"): r.get("line_items")} if "valid_json_pct" in r else {})} for r in rows],
        hide_index=True,
    )  # fmt: skip
    points = [{"model": r["name"], "latency_s": r["latency_mean_s"], "accuracy": r.get("accuracy") or 0.0}
              for r in rows if r["latency_mean_s"] is not None]  # fmt: skip
    if points:
        st.caption(t("lab.chart"))
        st.scatter_chart(points, x="latency_s", y="accuracy", color="model")
    st.download_button(t("lab.download_json"), json.dumps(report, ensure_ascii=False, indent=2).encode("utf-8"),
                       "report.json", "application/json", key="lab_report_json", on_click="ignore")  # fmt: skip
    st.download_button(t("lab.download_md"), report_markdown(report).encode("utf-8"), "report.md", "text/markdown",
                       key="lab_report_md", on_click="ignore")  # fmt: skip
    _per_document(job, report)


def _per_document(job: LabJob, report: dict) -> None:
    documents = report.get("documents", [])
    if not documents:
        return
    st.subheader(t("lab.per_document"))
    names = [entry["document"] for entry in documents]
    chosen = st.selectbox(t("lab.document"), names, key="lab_document")
    entry = documents[names.index(chosen)]
    left, right = st.columns([2, 3])
    preview = job.previews.get(chosen)
    if preview is not None:
        left.image(preview, width="stretch")
    else:
        left.info(t("lab.no_preview"))
    for name, result in entry["results"].items():
        with right.expander(name, expanded=True):
            if result["error"]:
                st.error(result["error"])
                continue
            st.code(result["raw_response"] or "", language=None, wrap_lines=True)
            fields = (result.get("score") or {}).get("fields")
            if _converts_result(report, name) and isinstance(result["parsed"], str):
                with st.container(border=True):
                    st.markdown(safe_markdown(result["parsed"]))
            elif fields:
                st.markdown("  \n".join(f"{'✅' if ok else '❌'} {field}" for field, ok in fields.items()))
            elif result["parsed"] is not None:
                st.json(result["parsed"])


def _converts_result(report: dict, name: str) -> bool:
    return any(row["name"] == name and row["task"] == "convert" for row in report.get("models", []))


def render() -> None:
    job = state.LAB_JOB.get()
    if job is not None and not job.finished.is_set():
        _progress(job)
        return
    _form()
    if job is not None:
        _results(job)
