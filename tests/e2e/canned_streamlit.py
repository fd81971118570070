"""``python canned_streamlit.py run Home.py ...``: Streamlit whose document model answers with chosen DocTags.

A random-weight model writes noise, so a browser test of tables and downloads needs a known answer.
The real engine still runs (processor, generate, stats); only its text is replaced, at the text
boundary, by ``CANNED_DOCTAGS`` with ``{page}`` numbering the requests. The app's code runs unchanged.
"""

from __future__ import annotations

import itertools
import os
import sys

from core.families.docling import DoclingEngine
from tests.app.conftest import CannedText

real_stream = DoclingEngine.stream
counter = itertools.count(1)


def canned_stream(self, request, stop=None, prefix_cache=None):  # type: ignore[no-untyped-def]
    real = real_stream(self, request, stop, prefix_cache=prefix_cache)
    return CannedText(real, os.environ["CANNED_DOCTAGS"].replace("{page}", str(next(counter))), request)


DoclingEngine.stream = canned_stream  # type: ignore[method-assign]

if __name__ == "__main__":
    from streamlit.web import cli

    sys.argv[0] = "streamlit"
    sys.exit(cli.main())
