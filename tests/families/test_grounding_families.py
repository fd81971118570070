"""The Qwen2.5-VL, Qwen3-VL, InternVL and Florence-2 adapters on tiny random models: real processors and generate."""

from __future__ import annotations

import pytest
from PIL import Image

from core.engines.types import ChatMessage, GenerationRequest, Role, SamplingParams
from core.families import FAMILIES as ALL_FAMILIES
from core.families.florence2 import Florence2Engine
from core.families.internvl import InternVLEngine
from core.families.qwen2_5_vl import QWEN_MAX_PIXELS, Qwen25VLEngine
from core.families.qwen3_5 import Qwen35Engine
from core.families.qwen3_vl import Qwen3VLEngine
from core.registry import create_engine
from core.settings import Settings
from core.tasks import detect as detect_task
from core.tasks import ocr as ocr_task
from core.tasks.ocr import OcrParams

FAMILIES = {
    "qwen2_5_vl": Qwen25VLEngine,
    "qwen3_vl": Qwen3VLEngine,
    "qwen3_5": Qwen35Engine,
    "internvl": InternVLEngine,
    "florence2": Florence2Engine,
}


@pytest.fixture(scope="module")
def engines(tiny_models, tmp_path_factory):
    built = {}
    for family in FAMILIES:
        path = str(tiny_models[family])
        settings = Settings(model_id=path, allow_download=False, hf_home=tmp_path_factory.mktemp("hf"), device="cpu")
        built[family] = create_engine(path, settings)
        built[family].load()
    yield built
    for engine in built.values():
        engine.unload()


@pytest.mark.parametrize("family", FAMILIES)
def test_adapter_class_and_abilities(engines, family):
    engine = engines[family]
    assert isinstance(engine, FAMILIES[family])
    assert engine.card.family == family
    assert engine._model.config._attn_implementation == "sdpa"


@pytest.mark.parametrize("family", FAMILIES)
def test_grounding_request_runs_real_generate(engines, family):
    image = Image.new("RGB", (320, 240), "olive")
    engine = engines[family]
    request = detect_task.build(ALL_FAMILIES[family], image, "cat")
    stream = engine.stream(request)
    text = "".join(stream)
    assert stream.stats.new_tokens >= 1
    assert stream.stats.image_tiles >= 1
    # The streamed text is exactly the greedy answer, decoded with its special tokens (where boxes live).
    import torch

    tensors = engine.build_inputs(request).tensors
    with torch.inference_mode():
        output = engine._model.generate(**tensors, **request.sampling.generate_kwargs())
    # the prompt (decoder-only) or the decoder's start token (Florence) is not part of the answer
    output = output[:, 1 if engine._model.config.is_encoder_decoder else tensors["input_ids"].shape[-1] :]
    expected = engine._processor.tokenizer.decode(output[0], skip_special_tokens=False)
    assert text.strip() == expected.replace("<pad>", "").strip()


@pytest.mark.parametrize("family", FAMILIES)
def test_ocr_request_runs(engines, family):
    request = ocr_task.build(ALL_FAMILIES[family], Image.new("RGB", (200, 100), "white"), OcrParams("ru", 8, 4))
    stream = engines[family].stream(request)
    list(stream)
    assert stream.stats.new_tokens >= 1


def test_qwen_reports_the_resized_input_it_saw(engines):
    engine = engines["qwen2_5_vl"]
    prepared = engine.build_inputs(detect_task.build(ALL_FAMILIES["qwen2_5_vl"], Image.new("RGB", (1000, 500)), "cat"))
    width, height = prepared.input_size
    assert width % 28 == 0 and height % 28 == 0  # whole merged patches
    assert width * height <= QWEN_MAX_PIXELS
    assert width / height == pytest.approx(2.0, rel=0.2)  # aspect kept
    assert prepared.vision_passes == 1


def test_internvl_tile_budget_limits_the_patches(engines):
    engine = engines["internvl"]
    image = Image.new("RGB", (900, 300))
    few = engine.build_inputs(GenerationRequest((ChatMessage(Role.USER, "?", (image,)),), SamplingParams(2), 2))
    more = engine.build_inputs(GenerationRequest((ChatMessage(Role.USER, "?", (image,)),), SamplingParams(2), 6))
    assert few.vision_passes < more.vision_passes


def test_florence_keeps_location_tokens_for_grounding(engines):
    engine = engines["florence2"]
    request = detect_task.build(ALL_FAMILIES["florence2"], Image.new("RGB", (64, 64)), "cat")
    assert request.keep_special_tokens
    assert request.messages[0].text == "<CAPTION_TO_PHRASE_GROUNDING>cat"
    prepared = engine.build_inputs(request)
    assert prepared.input_size == (64, 64)


def test_florence_needs_an_image(engines):
    with pytest.raises(ValueError):
        engines["florence2"].build_inputs(GenerationRequest((ChatMessage(Role.USER, "<OCR>"),)))


def test_chat_with_history_on_qwen(engines):
    image = Image.new("RGB", (100, 100), "navy")
    request = GenerationRequest(
        (
            ChatMessage(Role.USER, "What colour?", (image,)),
            ChatMessage(Role.ASSISTANT, "Navy."),
            ChatMessage(Role.USER, "Sure?"),
        ),
        SamplingParams(5),
    )
    prepared = engines["qwen2_5_vl"].build_inputs(request)
    prompt = engines["qwen2_5_vl"]._processor.tokenizer.decode(prepared.tensors["input_ids"][0])
    assert prompt.count("<|im_start|>user") == 2 and "Navy.<|im_end|>" in prompt


# Canned Florence-2 answers as the model writes them (special tokens kept): one phrase, several boxes
# for one phrase, several phrases, a truncated last box, and phrases with spaces.
FLORENCE_ANSWERS = [
    "</s><s>cat<loc_100><loc_200><loc_300><loc_400></s>",
    "</s><s>car<loc_54><loc_375><loc_906><loc_707><loc_10><loc_20><loc_200><loc_300></s>",
    "</s><s>red car<loc_54><loc_375><loc_906><loc_707>door<loc_710><loc_276><loc_908><loc_537></s>",
    "</s><s>wheel<loc_708><loc_531><loc_906><loc_704>tree<loc_1><loc_2></s>",
]


@pytest.mark.parametrize("answer", FLORENCE_ANSWERS)
@pytest.mark.parametrize("task", ["<CAPTION_TO_PHRASE_GROUNDING>", "<OD>"])
def test_florence_parser_agrees_with_the_processors_post_processing(tiny_models, answer, task):
    """Our parser and Florence2Processor.post_process_generation read the same boxes and labels."""
    from transformers import AutoProcessor

    from core.families.florence2 import parse_florence

    processor = AutoProcessor.from_pretrained(tiny_models["florence2"])
    width, height = 640, 480
    theirs = processor.post_process_generation(answer, task=task, image_size=(width, height))[task]
    ours = parse_florence(answer, width, height)
    assert theirs["bboxes"], "the reference found nothing: the comparison would be empty"
    expected = [label.strip() for label in theirs["labels"]]
    if task == "<OD>":  # <OD> labels every box; grounding repeats the phrase only for its first box
        assert [d.label for d in ours] == expected
    assert len(ours) == len(theirs["bboxes"])
    for detection, box in zip(ours, theirs["bboxes"], strict=True):
        assert detection.box.as_tuple() == pytest.approx(box, abs=1.0)  # we round to whole pixels


def test_qwen3_vl_prompt_for_one_image_and_one_question(engines):
    """What the model reads: the image's placeholders expanded to its visual tokens, then the question."""
    engine = engines["qwen3_vl"]
    request = GenerationRequest((ChatMessage(Role.USER, "What is written here?", (Image.new("RGB", (640, 480)),)),))
    prepared = engine.build_inputs(request)
    prompt = engine._processor.tokenizer.decode(prepared.tensors["input_ids"][0])
    _, rows, columns = (int(value) for value in prepared.tensors["image_grid_thw"][0])
    assert prompt.count("<|image_pad|>") == rows * columns // 4  # 2 x 2 patches merged into one token
    assert prompt.startswith("<|im_start|>user\n<|vision_start|>")
    assert prompt.endswith("<|vision_end|>What is written here?<|im_end|>\n<|im_start|>assistant\n")
    assert prepared.vision_passes == 1 and prepared.input_size is None  # its boxes need no input size


def test_qwen3_5_prompt_turns_thinking_off(engines):
    """Qwen3.5's template with thinking off: the answer starts after an empty thinking block."""
    engine = engines["qwen3_5"]
    request = GenerationRequest((ChatMessage(Role.USER, "What is written here?", (Image.new("RGB", (640, 480)),)),))
    prepared = engine.build_inputs(request)
    prompt = engine._processor.tokenizer.decode(prepared.tensors["input_ids"][0])
    _, rows, columns = (int(value) for value in prepared.tensors["image_grid_thw"][0])
    assert prompt.count("<|image_pad|>") == rows * columns // 4
    assert prompt.startswith("<|im_start|>user\n<|vision_start|>")
    assert prompt.endswith("What is written here?<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n")


def test_qwen3_5_grounds_in_thousandths_like_qwen3_vl():
    family = ALL_FAMILIES["qwen3_5"]
    [found] = family.parse_grounding('[{"bbox_2d": [250, 125, 750, 875], "label": "cat"}]', "cat", (800, 600), None)
    assert found.box.as_tuple() == (200, 75, 600, 525)


def test_qwen3_vl_video_frames_carry_their_times(engines):
    """Frames in pairs (temporal patch 2), each pair written with its mean time, as Qwen3-VL's processor does."""
    from core.engines.types import VideoClip

    engine = engines["qwen3_vl"]
    frames = tuple(Image.new("RGB", (320, 240), colour) for colour in ("red", "green", "blue", "white"))
    clip = VideoClip(frames, (0.0, 1.5, 3.0, 4.5), 6.0)
    prepared = engine.build_inputs(GenerationRequest((ChatMessage(Role.USER, "What happens?", (), (clip,)),)))
    prompt = engine._processor.tokenizer.decode(prepared.tensors["input_ids"][0])
    assert "<0.8 seconds>" in prompt and "<3.8 seconds>" in prompt and prompt.count(" seconds>") == 2
    assert prepared.vision_passes == 4 and int(prepared.tensors["video_grid_thw"][0][0]) == 2
