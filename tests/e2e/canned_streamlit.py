"""``python canned_streamlit.py run Home.py ...``: Streamlit whose models answer with chosen text.

A random-weight model writes noise, so a browser test of tables, downloads or cleaned OCR text needs a
known answer. The real engine still runs (processor, generate, stats); only its text is replaced, at
the text boundary: the document model's by ``CANNED_DOCTAGS`` (``{page}`` numbers the requests), the
chat model's OCR answers by ``CANNED_OCR``, extractions by ``CANNED_EXTRACT`` and one question by
``CANNED_NASTY``, Qwen3-VL's grounding by ``CANNED_GROUNDING``, GLM-OCR's readings by ``CANNED_READING``.
The app's code runs unchanged.
"""

from __future__ import annotations

import itertools
import os
import sys

from core.families.docling import DoclingEngine
from core.families.glm_ocr import GlmOcrEngine
from core.families.qwen3_vl import Qwen3VLEngine
from core.families.smolvlm import SmolVLMEngine
from tests.app.conftest import CannedText
from tests.e2e.conftest import NASTY_QUESTION

real_stream = DoclingEngine.stream
real_chat_stream = SmolVLMEngine.stream
real_qwen3_stream = Qwen3VLEngine.stream
real_glm_ocr_stream = GlmOcrEngine.stream
counter = itertools.count(1)


def canned_stream(self, request, stop=None, prefix_cache=None):  # type: ignore[no-untyped-def]
    real = real_stream(self, request, stop, prefix_cache=prefix_cache)
    return CannedText(real, os.environ["CANNED_DOCTAGS"].replace("{page}", str(next(counter))), request)


def canned_ocr(self, request, stop=None, prefix_cache=None):  # type: ignore[no-untyped-def]
    real = real_chat_stream(self, request, stop, prefix_cache=prefix_cache)
    canned = {"ocr": os.environ["CANNED_OCR"], "extract": os.environ["CANNED_EXTRACT"]}.get(request.task)
    if request.task == "chat" and request.messages[-1].text == NASTY_QUESTION:
        canned = os.environ["CANNED_NASTY"]
    return CannedText(real, canned, request) if canned is not None else real


def canned_grounding(self, request, stop=None, prefix_cache=None):  # type: ignore[no-untyped-def]
    real = real_qwen3_stream(self, request, stop, prefix_cache=prefix_cache)
    return CannedText(real, os.environ["CANNED_GROUNDING"], request) if request.task == "detection" else real


def canned_reading(self, request, stop=None, prefix_cache=None):  # type: ignore[no-untyped-def]
    real = real_glm_ocr_stream(self, request, stop, prefix_cache=prefix_cache)
    return CannedText(real, os.environ["CANNED_READING"], request)


DoclingEngine.stream = canned_stream  # type: ignore[method-assign]
GlmOcrEngine.stream = canned_reading  # type: ignore[method-assign]
Qwen3VLEngine.stream = canned_grounding  # type: ignore[method-assign]
SmolVLMEngine.stream = canned_ocr  # type: ignore[method-assign]

if __name__ == "__main__":
    from streamlit.web import cli

    sys.argv[0] = "streamlit"
    sys.exit(cli.main())
