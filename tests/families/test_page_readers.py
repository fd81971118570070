"""GLM-OCR, PaddleOCR-VL and LightOnOCR-2: the OCR page's document specialists, on tiny models with their real
classes; LightOnOCR-2 also as a converter whose Markdown becomes a document."""

from __future__ import annotations

import pytest
from PIL import Image

from core.engines.types import Capability
from core.families import family_named
from core.families.glm_ocr import GlmOcrEngine
from core.families.lighton_ocr import LightOnOcrEngine
from core.families.paddleocr_vl import PaddleOcrVlEngine
from core.registry import choices, create_engine, find_card, ocr_specialists
from core.settings import load_settings
from core.tasks import ocr as ocr_task
from core.tasks.ocr import OcrParams

READERS = {"glm_ocr": GlmOcrEngine, "paddleocr_vl": PaddleOcrVlEngine, "lighton_ocr": LightOnOcrEngine}
# What each checkpoint's template makes of one picture and the element's task prompt.
PROMPTS = {
    "glm_ocr": (
        "table",
        "[gMASK]<sop><|user|>\n<|begin_of_image|>",
        "<|end_of_image|>Table Recognition:<|assistant|>\n",
    ),
    "paddleocr_vl": (
        "table",
        "<|begin_of_sentence|>User: <|IMAGE_START|>",
        "<|IMAGE_END|>Table Recognition:\nAssistant:\n",
    ),
    "lighton_ocr": ("text", "<|im_start|>user\n<|image_pad|>", "<|image_pad|><|im_end|>\n<|im_start|>assistant\n"),
}
IMAGE_TOKEN = {"glm_ocr": "<|image|>", "paddleocr_vl": "<|IMAGE_PLACEHOLDER|>", "lighton_ocr": "<|image_pad|>"}


def _settings(tmp_path, **extra):
    return load_settings({"HF_HOME": str(tmp_path / "hf"), "HF_HUB_OFFLINE": "1", "MODEL_QUANT": "none", **extra},
                         dotenv_path=None)  # fmt: skip


@pytest.fixture(scope="module")
def engines(tiny_models, tmp_path_factory):
    built = {}
    for family in READERS:
        path = str(tiny_models[family])
        built[family] = create_engine(path, _settings(tmp_path_factory.mktemp("hf"), MODEL_DEVICE="cpu"))
        built[family].load()
    yield built
    for engine in built.values():
        engine.unload()


def test_the_published_checkpoints_are_ocr_specialists_outside_the_chat_picker():
    published = {
        "zai-org/GLM-OCR": "glm_ocr",
        "PaddlePaddle/PaddleOCR-VL": "paddleocr_vl",
        "PaddlePaddle/PaddleOCR-VL-1.5": "paddleocr_vl",
        "lightonai/LightOnOCR-2-1B": "lighton_ocr",
    }
    for model_id, family in published.items():
        card = find_card(model_id)
        assert card.family == family and card.can(Capability.OCR)
        assert card.capabilities - {Capability.OCR} <= {Capability.CONVERT}  # LightOnOCR-2 also converts
        assert card in ocr_specialists() and model_id not in choices("HuggingFaceTB/SmolVLM2-256M-Video-Instruct")


@pytest.mark.parametrize("family", READERS)
def test_a_tiny_folder_loads_through_the_one_loading_path(engines, family):
    engine = engines[family]
    assert type(engine) is READERS[family] and engine.card.family == family
    assert engine._model.config._attn_implementation == "sdpa"


@pytest.mark.parametrize("family", READERS)
def test_the_prompt_for_one_picture_and_a_task(engines, family):
    engine = engines[family]
    element, start, end = PROMPTS[family]
    request = ocr_task.build(family_named(family), Image.new("RGB", (640, 480), "white"), OcrParams(element=element))
    prepared = engine.build_inputs(request)
    prompt = engine._processor.tokenizer.decode(prepared.tensors["input_ids"][0])
    if "image_grid_thw" in prepared.tensors:
        _, rows, columns = (int(value) for value in prepared.tensors["image_grid_thw"][0])
    else:  # Pixtral's processor gives the resized size; 14 px patches
        rows, columns = (int(side) // 14 for side in prepared.tensors["image_sizes"][0])
    assert prompt.count(IMAGE_TOKEN[family]) == (rows // 2) * (columns // 2)  # 2 x 2 patches merged into one token
    assert prompt.startswith(start) and prompt.endswith(end)
    assert prepared.vision_passes == 1


def test_the_pixel_budget_caps_a_large_page(engines):
    engine = engines["paddleocr_vl"]
    request = ocr_task.build(family_named("paddleocr_vl"), Image.new("RGB", (3000, 4000)), OcrParams())
    _, rows, columns = (int(value) for value in engine.build_inputs(request).tensors["image_grid_thw"][0])
    assert rows * columns * 14 * 14 <= 28 * 28 * 64  # the tiny processor's own bound is below the family's


@pytest.mark.parametrize("family", READERS)
def test_reading_runs_real_generate_through_the_serving_core(tiny_models, tmp_path, family):
    from core.serving import ServingCore

    serving = ServingCore(_settings(tmp_path, MODEL_DEVICE="cpu"))
    try:
        client = serving.client(str(tiny_models[family]), "me")
        page = Image.new("RGB", (300, 200), "white")
        result = ocr_task.read(client, client.family, page, OcrParams(max_new_tokens=6))
        assert result.error is None and result.stats.new_tokens >= 1 and result.stats.image_tiles == 1
        assert result.markup and result.file_name.endswith(".md")
        assert result.prompt == family_named(family).element_prompts["text"]
    finally:
        serving.close()


def test_an_html_table_answer_becomes_a_pipe_table():
    glm = family_named("glm_ocr")
    raw = "<table><tr><td>Итого</td><td>1 234,56 ₽</td></tr><tr><td>НДС</td><td>205,76</td></tr></table>"
    cleaned = glm.clean_ocr(raw, "Table Recognition:")
    assert cleaned.text == "| Итого | 1 234,56 ₽ |\n|---|---|\n| НДС | 205,76 |" and not cleaned.no_text


def test_an_otsl_answer_becomes_a_pipe_table_even_when_cut_off():
    paddle = family_named("paddleocr_vl")
    cleaned = paddle.clean_ocr("<fcel>Item<fcel>Sum<nl><fcel>Pen<fcel>3.50", "Table Recognition:")
    assert cleaned.text == "| Item | Sum |\n|---|---|\n| Pen | 3.50 |"


def test_a_formula_answer_is_set_as_display_maths_and_fences_go():
    paddle = family_named("paddleocr_vl")
    assert paddle.clean_ocr("\\frac{a}{b}", "Formula Recognition:").text == "$$\n\\frac{a}{b}\n$$"
    assert paddle.clean_ocr("$$x^2$$", "Formula Recognition:").text == "$$x^2$$"
    assert paddle.clean_ocr("```markdown\n# Title\n```", "OCR:").text == "# Title"
    assert paddle.clean_ocr("   ", "OCR:").no_text


def test_elements_a_family_cannot_read_are_refused():
    assert family_named("paddleocr_vl").ocr_elements == ("text", "table", "formula", "chart")
    assert family_named("glm_ocr").ocr_elements == ("text", "table", "formula")
    assert family_named("lighton_ocr").ocr_elements == ("text",)
    for family, element in (("glm_ocr", "chart"), ("smolvlm", "table"), ("tesseract", "formula")):
        with pytest.raises(ValueError, match=element):
            family_named(family).ocr_prompt("auto", element)


def test_lighton_ocr_converts_a_page_of_markdown_into_a_document(tiny_models, tmp_path):
    from core.serving import ServingCore
    from core.tasks import convert as convert_task
    from core.tasks.convert import ConvertResult

    family = family_named("lighton_ocr")
    page = Image.new("RGB", (600, 800), "white")
    request = convert_task.build(family, page, 8)
    assert request.messages[0].text == "" and not request.keep_special_tokens  # the picture alone; plain text
    serving = ServingCore(_settings(tmp_path, MODEL_DEVICE="cpu"))
    try:
        client = serving.client(str(tiny_models["lighton_ocr"]), "me")
        result = ConvertResult(["page-1"], client.card.title)
        result.record(family, client.generate(request), page, 8)
        assert result.error is None and len(result.documents) == 1 and result.stats[0].new_tokens >= 1
    finally:
        serving.close()


def test_a_markdown_page_becomes_headings_paragraphs_a_table_and_a_formula():
    from core.doctags import Conversion
    from core.tasks import convert as convert_task

    markdown = (
        "# Счёт № 42\nот 03.03.2026\nООО «Ромашка»\n\n"
        "<table><tr><th>Товар</th><th>Сумма</th></tr><tr><td>Бумага</td><td>1 234,56</td></tr></table>\n\n"
        "$$S = \\sum a_i$$\n\n## Итого"
    )
    document = convert_task.parse(family_named("lighton_ocr"), markdown, Image.new("RGB", (600, 800)))
    conversion = Conversion.of_documents([document])
    assert conversion.tables() == [[["Товар", "Сумма"], ["Бумага", "1 234,56"]]]
    exported = conversion.markdown()
    assert exported.startswith("# Счёт № 42\n\nот 03.03.2026  \nООО «Ромашка»\n\n| Товар ")
    assert "$$S = \\sum a_i$$" in exported and exported.endswith("\n## Итого\n")
    assert document.pages[1].size.width == 600 and conversion.layout() == []  # no boxes from a page reader
