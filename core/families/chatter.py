"""What a chat model writes around a transcription: greetings, "here is the text:", code fences, an echoed
prompt, sign-offs. The cleaner removes only that; the lines of the text itself are never rewritten.

Families whose answer is the text itself (an OCR program) do not use it: see ``Family.clean_ocr``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

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
