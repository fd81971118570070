from __future__ import annotations

from core.lab.synthetic import write_dataset
from tests.app.conftest import open_page


def _lab_page(app_env, tiny_models):
    app_env.setenv("EXTRA_MODEL_IDS", str(tiny_models["qwen2_5_vl"]))
    at = open_page("Home.py").run()
    at.switch_page("pages/5_Lab.py").run()
    assert not at.exception
    return at


def _uploads(tmp_path):
    write_dataset(tmp_path / "docs", 3)
    documents = [(p.name, p.read_bytes(), "application/octet-stream") for p in sorted((tmp_path / "docs").iterdir())
                 if p.is_file()]  # fmt: skip
    references = [(p.name, p.read_bytes(), "text/plain") for p in sorted((tmp_path / "docs" / "references").iterdir())]
    return documents, references


def test_start_needs_documents_and_models(app_env, tiny_models):
    at = _lab_page(app_env, tiny_models)
    at.button(key="lab_start").click().run()
    assert any("at least one model" in warning.value for warning in at.warning)
    assert "lab_job" not in at.session_state


def test_two_models_three_documents_compared(app_env, tiny_models, tmp_path):
    at = _lab_page(app_env, tiny_models)
    documents, references = _uploads(tmp_path)
    at.file_uploader(key="lab_uploads").set_value(documents)
    at.file_uploader(key="lab_references").set_value(references)
    options = at.multiselect(key="lab_models").options
    at.multiselect(key="lab_models").set_value([o for o in options if o.startswith(("tiny-smolvlm", "qwen2_5_vl"))])
    at.selectbox(key="lab_task").set_value("extract")
    at.number_input(key="lab_max_new").set_value(16)
    at.button(key="lab_start").click().run()
    assert not at.exception
    job = at.session_state["lab_job"]
    assert job.finished.wait(180)
    at.run()
    assert not at.exception and job.error is None
    assert job.summary.done == 6 and job.summary.failed == 0
    rows = {row["name"]: row for row in job.report["models"]}
    assert len(rows) == 2
    assert all(set(row["per_field"]) == {"seller", "number", "date", "total"} for row in rows.values())
    assert at.dataframe  # the comparison table
    assert at.selectbox(key="lab_document").options == ["invoice_01.png", "invoice_02.pdf", "invoice_03.png"]
    # the uploads and the run's files were temporary: gone, while the page still shows every document
    assert job.inputs is not None and not job.inputs.exists()
    assert not job.run_dir.exists() and not job.run_dir.parent.exists()
    assert set(job.previews) == {"invoice_01.png", "invoice_02.pdf", "invoice_03.png"}
    assert not any("cannot be opened" in info.value for info in at.info)  # the preview is shown


def test_extract_on_a_template_scores_every_field_and_counts_valid_json(app_env, tiny_models, tmp_path):
    at = _lab_page(app_env, tiny_models)
    write_dataset(tmp_path / "docs", 1, "ru")
    picture = tmp_path / "docs" / "invoice_01.png"
    at.file_uploader(key="lab_uploads").set_value([(picture.name, picture.read_bytes(), "image/png")])
    reference = tmp_path / "docs" / "references" / "invoice_01.json"
    at.file_uploader(key="lab_references").set_value([(reference.name, reference.read_bytes(), "application/json")])
    at.multiselect(key="lab_models").set_value([at.multiselect(key="lab_models").options[0]])
    at.selectbox(key="lab_task").set_value("extract").run()
    template = at.selectbox(key="lab_template")
    assert template.options[0] == "No template: seller, number, date, total"
    template.set_value("invoice-ru").run()
    at.button(key="lab_start").click().run()
    job = at.session_state["lab_job"]
    assert job.models[0].template == "invoice-ru" and job.finished.wait(180)
    at.run()
    assert not at.exception and job.error is None
    [row] = job.report["models"]
    assert row["valid_json_pct"] == 100.0  # decoded under the schema, even from a random model
    assert len(row["per_field"]) == 14  # every scalar field of the Russian invoice template
    shown = at.dataframe[0].value
    assert {"Valid JSON, %", "Checks passed, %", "Line items"} <= set(shown.columns)


def test_server_folder_instead_of_uploads(app_env, tiny_models, tmp_path):
    write_dataset(tmp_path / "server_docs", 2)
    app_env.setenv("LAB_DOCUMENTS_DIR", str(tmp_path / "server_docs"))
    at = _lab_page(app_env, tiny_models)
    at.radio(key="lab_source_en").set_value(f"Server folder: {tmp_path / 'server_docs'}").run()
    assert not at.file_uploader  # nothing to upload
    at.multiselect(key="lab_models").set_value([at.multiselect(key="lab_models").options[0]])
    at.selectbox(key="lab_task").set_value("ocr")
    at.number_input(key="lab_max_new").set_value(8)
    at.button(key="lab_start").click().run()
    job = at.session_state["lab_job"]
    assert job.finished.wait(120)
    at.run()
    assert job.error is None and job.summary.done == 2
    assert job.report["models"][0]["cer"] is not None  # scored against the folder's references/*.txt
    assert (tmp_path / "server_docs").is_dir() and job.inputs is None  # the server's own folder is kept
    assert not job.run_dir.exists()


def test_typed_questions_are_checked(app_env, tiny_models):
    at = _lab_page(app_env, tiny_models)
    at.selectbox(key="lab_task").set_value("vqa").run()
    at.text_area(key="lab_questions").set_value("ok?\n" + "x" * 5000)
    at.button(key="lab_start").click().run()
    assert not at.exception
    assert any("4000" in warning.value for warning in at.warning)
    assert "lab_job" not in at.session_state


def test_a_lab_run_waits_for_peoples_questions_and_says_so(app_env, tiny_models, tmp_path):
    import time

    from tests.serving.conftest import Gate, ask
    from ui.serving import serving

    at = _lab_page(app_env, tiny_models)
    documents, _ = _uploads(tmp_path)
    at.file_uploader(key="lab_uploads").set_value(documents[:1])
    at.multiselect(key="lab_models").set_value([o for o in at.multiselect(key="lab_models").options
                                                if o.startswith("tiny-smolvlm")])  # fmt: skip
    at.selectbox(key="lab_task").set_value("ocr")
    at.number_input(key="lab_max_new").set_value(8)

    core, model_id = serving(), str(tiny_models["smolvlm"])
    core.client(model_id, "person").load()
    gate = Gate(core.pool.engine(model_id))
    person = core.submit(model_id, ask(), owner="person")  # someone's question is being answered
    assert gate.entered.wait(10)
    try:
        at.button(key="lab_start").click().run()
        job = at.session_state["lab_job"]
        for _ in range(50):
            captions = [caption.value for caption in at.caption]
            if any("The run is waiting: people's interactive requests go first" in c for c in captions):
                break
            time.sleep(0.1)
            at.run()
        else:
            raise AssertionError(f"no waiting note in {captions}")
        assert "you are 2nd in line" in next(c for c in captions if "The run is waiting" in c)
    finally:
        gate.release()
    assert person.wait(20) and job.finished.wait(60)
    at.run()
    assert job.error is None and job.summary.done == 1
    assert "session_model" not in at.session_state  # the Lab never changed this session's model


def test_document_models_compared_on_the_convert_task(app_env, tiny_models, tmp_path):
    app_env.setenv("DOCLING_MODEL", str(tiny_models["docling"]))
    at = _lab_page(app_env, tiny_models)
    documents, references = _uploads(tmp_path)
    assert any(name.endswith(".md") for name, _, _ in references)  # the generator writes Markdown references
    at.file_uploader(key="lab_uploads").set_value(documents[:1])
    at.file_uploader(key="lab_references").set_value(references)
    options = at.multiselect(key="lab_models").options
    docling = [o for o in options if o.startswith("tiny-docling")]
    assert docling and any(o.startswith("Granite-Docling 258M") for o in options)
    at.multiselect(key="lab_models").set_value([*docling, options[0]])  # a chat model too: refused
    at.selectbox(key="lab_task").set_value("convert").run()
    at.number_input(key="lab_convert_max_new").set_value(16)
    at.button(key="lab_start").click().run()
    assert any("cannot do the convert task" in warning.value for warning in at.warning)
    at.multiselect(key="lab_models").set_value(docling)
    at.button(key="lab_start").click().run()
    job = at.session_state["lab_job"]
    assert job.finished.wait(120)
    at.run()
    assert not at.exception and job.error is None and job.summary.done == 1
    (row,) = job.report["models"]
    assert row["task"] == "convert" and row["text_similarity"] is not None and row["table_accuracy"] == 0.0
    assert "Table accuracy" in at.dataframe[0].value.columns
