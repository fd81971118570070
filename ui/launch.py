"""``python -m ui.launch run Home.py [streamlit options]``: Streamlit, with the default model loading at once.

Streamlit runs a page only when a browser connects, so without this the first person to ask waits for
the model's load (and its int8 quantization). The serving core is the same ``st.cache_resource`` object
the pages use (its cache is process-wide), created here in a thread while the server starts listening;
the load itself goes through the pool like any other.
"""

from __future__ import annotations

import logging
import sys
import threading

log = logging.getLogger("ui.launch")


def warm_up() -> None:
    """Create the serving core and ask for the default model; any problem is left for the pages to show."""
    try:
        from core.settings import load_settings

        if not load_settings().preload_model:
            return
        from ui.serving import default_model_id, serving

        model_id = default_model_id()
        serving().preload(model_id, may_evict=False)
        log.info("loading the default model %s while the server starts", model_id)
    except Exception:  # noqa: BLE001 - a bad setting or a missing model: the first page says what is wrong
        log.warning("the default model was not loaded at start; the first request will load it", exc_info=True)


def main() -> int:
    from streamlit.web import cli

    threading.Thread(target=warm_up, name="warm-up", daemon=True).start()
    sys.argv[0] = "streamlit"
    return int(cli.main() or 0)


if __name__ == "__main__":
    sys.exit(main())
