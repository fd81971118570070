"""``python slow_streamlit.py SECONDS run Home.py ...``: Streamlit with each generated token delayed on purpose.

A browser test that presses Stop needs an answer still going when the click lands; the tiny model
writes a thousand tokens in a few seconds. The delay is added where the engine counts a token, in
this process only, so the app's code runs unchanged.
"""

from __future__ import annotations

import sys
import time

from core.engines import streaming

seconds_per_token = float(sys.argv.pop(1))
count_token = streaming.ThreadedGeneration._token_done


def slow_token_done(self: streaming.ThreadedGeneration, sequence: object) -> None:
    time.sleep(seconds_per_token)
    count_token(self, sequence)


streaming.ThreadedGeneration._token_done = slow_token_done  # type: ignore[method-assign]

if __name__ == "__main__":
    from streamlit.web import cli

    sys.argv[0] = "streamlit"
    sys.exit(cli.main())
