"""Object detection by phrase: the grounding prompt for each model family and the parser for its answer."""

from __future__ import annotations

from PIL import Image

from core.engines.types import ChatMessage, GenerationRequest, Role, SamplingParams
from core.grounding import Detection, deduplicate, parse_florence, parse_internvl, parse_qwen

GROUNDING_MAX_NEW_TOKENS = 512


def grounding_prompt(family: str, phrase: str) -> str:
    if family == "florence2":
        return f"<CAPTION_TO_PHRASE_GROUNDING>{phrase}"
    if family == "internvl":
        return f"Please provide the bounding box coordinate of the region this sentence describes: <ref>{phrase}</ref>"
    if family == "qwen2_5_vl":
        return (
            f'Locate every instance of "{phrase}" in the image. Report the bounding boxes in JSON: '
            f'[{{"bbox_2d": [x1, y1, x2, y2], "label": "{phrase}"}}]. Answer [] if there is none.'
        )
    raise ValueError(f"the {family} family cannot ground phrases")


def grounding_request(family: str, image: Image.Image, phrase: str) -> GenerationRequest:
    """One phrase per request: every family answers it reliably, and the label is known for each box."""
    return GenerationRequest(
        (ChatMessage(Role.USER, grounding_prompt(family, phrase), (image,)),),
        SamplingParams(max_new_tokens=GROUNDING_MAX_NEW_TOKENS, do_sample=False),
        keep_special_tokens=True,
    )


def parse_grounding(
    family: str, text: str, phrase: str, width: int, height: int, input_size: tuple[int, int] | None
) -> list[Detection]:
    """Boxes in original pixels; the phrase labels them when the model names nothing."""
    if family == "florence2":
        found = parse_florence(text, width, height, default_label=phrase)
    elif family == "internvl":
        found = parse_internvl(text, width, height, default_label=phrase)
    elif family == "qwen2_5_vl":
        input_width, input_height = input_size or (width, height)
        found = parse_qwen(text, input_width, input_height, width, height, default_label=phrase)
    else:
        raise ValueError(f"no grounding parser for {family}")
    # Florence repeats the phrase it grounded; a model's own label for the phrase asked is the phrase.
    return deduplicate([Detection(phrase, d.box, d.score) if d.label.lower() in ("", phrase.lower()) else d
                        for d in found])  # fmt: skip
