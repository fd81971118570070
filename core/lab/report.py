"""Aggregate a run directory into report.json and report.md: one row per model, per-field breakdowns."""

from __future__ import annotations

import json
from pathlib import Path
from statistics import mean
from typing import Any

from core.extraction.templates import load_template
from core.lab.config import LabModel
from core.lab.metrics import (
    anls,
    cer,
    markdown_tables,
    percentile,
    score_fields,
    score_rows,
    table_accuracy,
    text_similarity,
    wer,
)
from core.lab.runner import write_atomically, write_text_atomically


def _reference(references: Path | None, document: str, suffix: str) -> str | None:
    path = references / f"{Path(document).stem}{suffix}" if references is not None else None
    return path.read_text(encoding="utf-8") if path is not None and path.is_file() else None


def _document_markdown(records: list[dict[str, Any]]) -> dict[str, str | None]:
    """A convert model's Markdown per document, its pages joined in order (None if any page failed)."""
    pages: dict[str, list[tuple[int, str | None]]] = {}
    for record in records:
        parsed = None if record.get("error") else record.get("parsed")
        pages.setdefault(record["document"], []).append((record.get("page_index", 0), parsed))
    joined: dict[str, str | None] = {}
    for document, parts in pages.items():
        texts = [text for _, text in sorted(parts, key=lambda part: part[0])]
        joined[document] = None if any(text is None for text in texts) else "\n\n".join(t or "" for t in texts)
    return joined


def _score_convert(reference: str | None, markdown: str | None) -> dict[str, Any]:
    if reference is None or markdown is None:
        return {}
    tables = table_accuracy(markdown_tables(reference), markdown_tables(markdown))
    return {"text_similarity": text_similarity(reference, markdown), "table_accuracy": tables}


def _asked_fields(model: LabModel) -> set[str] | None:
    """The fields an extract entry asks for (its template's, or its list); None for a prompt of one's own, whose
    fields only the references can tell. A reference field nobody asked for is not held against the model."""
    if model.template is not None:
        return {item.name for item in load_template(model.template).fields if item.type != "rows"}
    return None if model.prompt else set(model.fields)


def _score(
    record: dict[str, Any], references: Path | None, documents: dict[str, str | None], asked: set[str] | None = None
) -> dict[str, Any]:
    """Accuracy of one result against its document's references (empty when there are none).

    A document is scored once, on its first page's record; a convert result covers all its pages.
    """
    if record.get("error") or record.get("page_index", 0) != 0:
        return {}
    if record["task"] == "convert":
        return _score_convert(_reference(references, record["document"], ".md"), documents.get(record["document"]))
    fields_text = _reference(references, record["document"], ".json")
    expected = json.loads(fields_text) if fields_text is not None else None
    text = _reference(references, record["document"], ".txt")
    if record["task"] == "extract" and expected:
        fields = {key: value for key, value in expected.items()
                  if key not in ("qa", "lines") and (asked is None or key in asked)}  # fmt: skip
        parsed = record.get("parsed")
        # line items are scored row by row below; as a field they would count against precision
        score = score_fields(fields, {k: v for k, v in parsed.items() if k != "lines"} if isinstance(parsed, dict)
                             else parsed)  # fmt: skip
        found: dict[str, Any] = {"precision": score.precision, "recall": score.recall, "f1": score.f1,
                                 "fields": score.matched}  # fmt: skip
        rows = parsed.get("lines") if isinstance(parsed, dict) else None
        if isinstance(expected.get("lines"), list) and isinstance(rows, list):  # an answer with line items
            found["line_items"] = score_rows(expected["lines"], rows)
        return found
    if record["task"] == "ocr" and text is not None:
        hypothesis = record.get("parsed") or ""
        return {"cer": cer(text, hypothesis), "wer": wer(text, hypothesis)}
    if record["task"] == "vqa" and expected and isinstance(expected.get("qa"), dict):
        answers = record.get("parsed") or {}
        scores = []
        for question, accepted in expected["qa"].items():
            accepted = accepted if isinstance(accepted, list) else [accepted]
            scores.append(anls([str(a) for a in accepted], str(answers.get(question, ""))))
        return {"anls": mean(scores) if scores else 0.0}
    return {}


def build_report(run_dir: Path, models: list[LabModel], references: Path | None) -> dict[str, Any]:
    rows = []
    documents: dict[str, dict[str, Any]] = {}
    for model in models:
        records = [
            json.loads(path.read_text(encoding="utf-8")) for path in sorted((run_dir / model.name).glob("*.json"))
        ]
        joined = _document_markdown(records) if model.task == "convert" else {}
        asked = _asked_fields(model) if model.task == "extract" else None
        scores = [_score(record, references, joined, asked) for record in records]
        latencies = [r["elapsed_seconds"] for r in records if not r.get("error") and r.get("elapsed_seconds")]
        speeds = [r["tokens_per_second"] for r in records if r.get("tokens_per_second")]
        row: dict[str, Any] = {
            "name": model.name,
            "model_id": model.model_id,
            "weights": next((r["weights"] for r in records if r.get("weights")), None),
            "task": model.task,
            "status": model.status,
            "results": len(records),
            "failures": sum(1 for r in records if r.get("error")),
            "loops": sum(1 for r in records if r.get("looped")),  # pages the repetition guard stopped
            "latency_mean_s": round(mean(latencies), 3) if latencies else None,
            "latency_p95_s": round(percentile(latencies, 0.95), 3) if latencies else None,
            "tokens_per_second": round(mean(speeds), 2) if speeds else None,
        }
        scored = [s for s in scores if s]
        judged = [r for r in records if "valid_json" in r and not r.get("error")]
        if judged:  # extract on a template: did the answers follow the schema, and did their numbers agree
            row["valid_json_pct"] = round(100 * mean(float(bool(r["valid_json"])) for r in judged), 1)
            totals = sum(int(r.get("checks_total", 0)) for r in judged)
            passed = sum(int(r.get("checks_passed", 0)) for r in judged)
            row["checks_passed_pct"] = round(100 * passed / totals, 1) if totals else None
        if model.task == "extract" and scored:
            row.update({key: round(mean(s[key] for s in scored), 4) for key in ("precision", "recall", "f1")})
            row["accuracy"] = row["f1"]
            rows_scored = [s["line_items"] for s in scored if "line_items" in s]
            if rows_scored:
                row["line_items"] = round(mean(rows_scored), 4)
            names = sorted({name for s in scored for name in s["fields"]})
            row["per_field"] = {
                name: round(mean(float(s["fields"][name]) for s in scored if name in s["fields"]), 4) for name in names
            }
        elif model.task == "ocr" and scored:
            row["cer"] = round(mean(s["cer"] for s in scored), 4)
            row["wer"] = round(mean(s["wer"] for s in scored), 4)
            row["accuracy"] = round(max(0.0, 1.0 - row["cer"]), 4)
        elif model.task == "convert" and scored:
            row["text_similarity"] = round(mean(s["text_similarity"] for s in scored), 4)
            tables = [s["table_accuracy"] for s in scored if s["table_accuracy"] is not None]
            row["table_accuracy"] = round(mean(tables), 4) if tables else None
            row["accuracy"] = row["text_similarity"]
        elif model.task == "vqa" and scored:
            row["anls"] = round(mean(s["anls"] for s in scored), 4)
            row["accuracy"] = row["anls"]
        else:
            row["accuracy"] = None
        rows.append(row)
        for record, score in zip(records, scores, strict=True):
            entry = documents.setdefault(record["document"], {"document": record["document"], "results": {}})
            entry["results"][model.name] = {
                "page_index": record.get("page_index"),
                "raw_response": record.get("raw_response"),
                "parsed": record.get("parsed"),
                "error": record.get("error"),
                "score": score,
            }
    return {"run_dir": str(run_dir), "models": rows, "documents": list(documents.values())}


def _cell(value: Any) -> str:
    if value is None:
        return "—"
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def report_markdown(report: dict[str, Any]) -> str:
    lines = [
        "# VLM Lab report",
        "",
        f"Run: `{report['run_dir']}`",
        "",
        "| model | weights | task | status | accuracy | mean latency, s | p95 latency, s | tokens/s | results "
        "| failures | loops |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in report["models"]:
        cells = [row["name"], row.get("weights"), row["task"], row["status"], row.get("accuracy"),
                 row["latency_mean_s"], row["latency_p95_s"], row["tokens_per_second"],
                 row["results"], row["failures"], row.get("loops", 0)]  # fmt: skip
        lines.append("| " + " | ".join(_cell(cell) for cell in cells) + " |")
    converters = [row for row in report["models"] if row["task"] == "convert"]
    if converters:
        lines += ["", "## Documents to Markdown", "", "| model | text similarity | table accuracy |", "|---|---|---|"]
        lines += [f"| {row['name']} | {_cell(row.get('text_similarity'))} | {_cell(row.get('table_accuracy'))} |"
                  for row in converters]  # fmt: skip
    for row in report["models"]:
        if row.get("per_field"):
            lines += ["", f"## {row['name']}: share of documents with each field right", ""]
            lines += ["| field | right |", "|---|---|"]
            lines += [f"| {name} | {share:.2f} |" for name, share in row["per_field"].items()]
    lines.append("")
    return "\n".join(lines)


def write_report(run_dir: Path, models: list[LabModel], references: Path | None) -> dict[str, Any]:
    report = build_report(run_dir, models, references)
    write_atomically(run_dir / "report.json", report)
    write_text_atomically(run_dir / "report.md", report_markdown(report))
    return report
