"""OCR: the prompt per model family and the cleaner that strips a model's chatter from the text.

The cleaner only removes what surrounds the transcription (greetings, "here is the text:", code
fences, an echoed prompt, sign-offs); the lines of the text itself are never rewritten.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from core.engines.types import ChatMessage, GenerationRequest, Role, SamplingParams

LANGUAGE_HINTS = ("auto", "ru", "en")
NO_TEXT_MARK = "NO_TEXT"
OCR_MAX_TILES = 16  # text needs pixels: full resolution

_BASE_PROMPT = (
    "Transcribe all the text in this image exactly as written, keeping the line breaks. "
    "Output only the text itself: no introduction, no explanation, no formatting. "
    f"If the image contains no text, answer {NO_TEXT_MARK}."
)
_HINTS = {
    "auto": "",
    "ru": " The text is in Russian; keep it in Russian, do not translate it.",
    "en": " The text is in English.",
}
# Florence-2 takes a bare task token: nothing may be added to it, not even a language hint.
_TASK_TOKEN_PROMPTS = {"florence2": "<OCR>"}


def ocr_prompt(family: str, language_hint: str = "auto") -> str:
    if language_hint not in _HINTS:
        raise ValueError(f"language hint must be one of {LANGUAGE_HINTS}")
    if family in _TASK_TOKEN_PROMPTS:
        return _TASK_TOKEN_PROMPTS[family]
    return _BASE_PROMPT + _HINTS[language_hint]


def ocr_request(
    family: str, image: object, language_hint: str, max_new_tokens: int, max_tiles: int
) -> GenerationRequest:
    prompt = ocr_prompt(family, language_hint)
    return GenerationRequest(
        (ChatMessage(Role.USER, prompt, (image,)),),  # type: ignore[arg-type]
        SamplingParams(max_new_tokens=max_new_tokens, do_sample=False),
        max_tiles,
    )


_OPENERS = re.compile(
    r"""^\W*(
        (sure|certainly|of\ course|okay|ok|absolutely|here\ you\ go)\b[^\n]{0,60}
      | (here\ is|here's|here\ are|below\ is|below\ are|the\ following\ is)\b[^\n]{0,80}
      | (the\ )?(extracted|transcribed|recognized|recognised|ocr)\b[^\n]{0,60}
      | (the\ )?text\ (in|from|on|of)\ (the|this)\ (image|picture|photo|document)[^\n]{0,60}
      | (the\ )?(image|picture|photo|document)\ (contains|shows|reads|says)[^\n]{0,60}
      | (конечно|вот|ниже|пожалуйста|хорошо)\b[^\n]{0,80}
      | (распознанный|извлечённый|извлеченный)\ текст[^\n]{0,60}
      | текст\ (на|с|из)\ (изображени|картинк|фото|документ)[^\n]{0,60}
      | (на\ )?(изображении|картинке)\ (написано|есть\ текст|содержится)[^\n]{0,60}
    )$""",
    re.IGNORECASE | re.VERBOSE,
)
_CLOSERS = re.compile(
    r"""^\W*(
        (let\ me\ know|i\ hope\ this|hope\ this\ helps|feel\ free|if\ you\ need|is\ there\ anything)[^\n]{0,120}
      | (надеюсь|если\ нужно|если\ понадобится|обращайтесь)[^\n]{0,120}
    )$""",
    re.IGNORECASE | re.VERBOSE,
)
_FENCE = re.compile(r"^```[\w-]*[ \t]*\n(?P<body>.*?)\n?```[ \t]*$", re.DOTALL)
_NO_TEXT = re.compile(
    r"""^\W*(
        no_text
      | (there\ is|there's|i\ see|i\ can\ see)\ no\ (visible\ |readable\ )?text[^\n]{0,80}
      | no\ (visible\ |readable\ )?text\ (is\ )?(visible|found|detected|present)[^\n]{0,60}
      | (the\ )?(image|picture|photo)\ (does\ not|doesn't)\ (contain|have|show)
        \ (any\ )?(visible\ |readable\ )?text[^\n]{0,60}
      | (на\ изображении\ |на\ картинке\ )?(нет|отсутствует)\ (никакого\ )?текст[а-я]*[^\n]{0,60}
      | текст\ отсутствует[^\n]{0,40}
    )\W*$""",
    re.IGNORECASE | re.VERBOSE,
)


@dataclass(frozen=True)
class OcrText:
    text: str
    no_text: bool


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().lower()


def clean_ocr_output(raw: str, prompt: str = "") -> OcrText:
    """The transcription inside a model's answer, and whether the model said there was no text."""
    text = raw.replace("\r\n", "\n").replace("\r", "\n").strip()
    text = re.sub(r"^(assistant|ассистент)\s*:\s*", "", text, flags=re.IGNORECASE)
    if prompt and _squash(text).startswith(_squash(prompt)):
        # The model echoed the instruction: drop as many leading lines as the prompt had words for.
        squashed_prompt = _squash(prompt)
        lines = text.split("\n")
        while lines and squashed_prompt.startswith(_squash(lines[0])) and _squash(lines[0]):
            squashed_prompt = squashed_prompt[len(_squash(lines[0])) :].strip()
            lines.pop(0)
        text = "\n".join(lines).strip()

    lines = text.split("\n")
    while lines and (not lines[0].strip() or (_OPENERS.match(lines[0].strip()) and _is_chatter(lines[0]))):
        lines.pop(0)
    while lines and (not lines[-1].strip() or _CLOSERS.match(lines[-1].strip())):
        lines.pop()
    text = "\n".join(lines).strip()

    fenced = _FENCE.match(text)
    if fenced:
        text = fenced.group("body").strip("\n")
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'" and text.count(text[0]) == 2:
        text = text[1:-1]
    if text[:1] == "«" and text[-1:] == "»" and text.count("«") == 1:
        text = text[1:-1]

    if not text.strip() or _NO_TEXT.match(text.strip()):
        return OcrText("", True)
    return OcrText(text, False)


_ACKNOWLEDGEMENTS = {"sure", "certainly", "of course", "okay", "ok", "absolutely", "here you go", "конечно", "хорошо"}


def _is_chatter(line: str) -> bool:
    """An opener is chatter when it introduces the text (ends with ':') or is a bare acknowledgement."""
    stripped = line.strip()
    bare = re.sub(r"[^\w ]", "", stripped).strip().lower()
    return stripped.endswith(":") or bare in _ACKNOWLEDGEMENTS
