"""Extract in a real browser, in Russian: a rendered invoice, the Russian template, a canned answer after the real
model ran under the schema; the checks and the made-up value on the page, the JSON download with typed values
and each value's box."""

from __future__ import annotations

import json
import re

import pytest

from core.lab.synthetic import make_invoice, render_invoice, value_boxes
from tests.e2e.browser import choose_language, download, go_to, upload, wait_idle

pytestmark = pytest.mark.e2e


def test_extract_a_russian_invoice_with_checks_evidence_and_download(page, canned_docling_url, tmp_path):
    invoice = make_invoice(2)
    picture = tmp_path / "счёт.png"
    render_invoice(invoice).save(picture)
    upload(page, canned_docling_url, picture, "827×1169 px")
    choose_language(page, "Русский")
    go_to(page, "Извлечение", "Extract")
    page.get_by_text("Счёт на оплату (RU)", exact=True).click()
    wait_idle(page)
    page.get_by_role("button", name="Извлечь").click()
    page.get_by_text(re.compile(r"^Готово за [\d.]+ с")).wait_for(timeout=180_000)
    wait_idle(page)
    assert page.get_by_text(re.compile("ИНН продавца: ИНН 7707083894 не проходит проверку")).is_visible()
    assert page.get_by_text(re.compile("«Globex Corporation» \\(buyer\\) на странице не найдено")).is_visible()

    saved = download(page, "Скачать .json", tmp_path)
    assert re.fullmatch(r"extract_\d{8}_\d{6}\.json", saved.name)
    record = json.loads(saved.read_text(encoding="utf-8"))
    assert record["valid_json"] and record["template"] == "invoice-ru"
    # an amount printed without its currency takes the document's ("currency": "RUB")
    assert record["typed"]["date"] == "2026-11-07" and record["typed"]["total"] == {"amount": "391.53",
                                                                                     "currency": "RUB"}  # fmt: skip
    boxes = {item["path"]: item["box"] for item in record["evidence"]}
    truth = value_boxes(invoice)
    assert boxes["buyer"] is None
    for path in ("number", "seller", "total", "lines.0.price"):
        x1, y1, x2, y2 = boxes[path]
        tx1, ty1, tx2, ty2 = truth[path]
        assert x1 <= (tx1 + tx2) / 2 <= x2 and y1 <= (ty1 + ty2) / 2 <= y2, path  # the box sits on its ink
    assert any(check["check"] == "inn" and not check["ok"] for check in record["checks"])
