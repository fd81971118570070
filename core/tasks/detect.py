"""Detection: objects found by phrase, as detections in original pixels.

Each phrase goes to the model in its family's grounding format, one request per phrase (every family
answers that reliably, and the label of each box is known): ``build`` makes it, ``parse`` reads the
boxes back through the family's parser, and ``detect`` runs every phrase through the serving core.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from PIL import Image

from core.engines.types import Capability, ChatMessage, EngineError, GenerationRequest, Role, SamplingParams
from core.families import Family
from core.grounding import Detection, deduplicate, split_phrases
from core.media import InvalidInput
from core.serving import JobStatus, ModelClient
from core.user_text import MAX_PHRASES_CHARS, clean_text, neutralise

NEEDS = Capability.GROUNDING
GROUNDING_MAX_NEW_TOKENS = 512
MAX_PHRASES = 10  # one model call each

PhraseUpdate = Callable[[str, str | None, JobStatus], None]  # phrase, new text piece or None, status


def read_phrases(query: str | None) -> list[str]:
    """The phrases typed as ``"cat, red car"``; :class:`InvalidInput` for none, too many or too long a query."""
    phrases = split_phrases(clean_text(query, MAX_PHRASES_CHARS, empty_key="detect.empty"))
    if not phrases:
        raise InvalidInput("detect.empty")
    if len(phrases) > MAX_PHRASES:
        raise InvalidInput("detect.too_many", limit=MAX_PHRASES, count=len(phrases))
    return phrases


def build(family: Family, image: Image.Image, phrase: str) -> GenerationRequest:
    """The family's grounding prompt around ``phrase``, which stays plain text inside it."""
    return GenerationRequest(
        (ChatMessage(Role.USER, family.grounding_prompt(neutralise(phrase)), (image,)),),
        SamplingParams(max_new_tokens=GROUNDING_MAX_NEW_TOKENS, do_sample=False),
        keep_special_tokens=True,  # coordinates travel in special tokens (<loc_N>, <box>)
        task="detection",
    )


def parse(
    family: Family, text: str, phrase: str, image_size: tuple[int, int], input_size: tuple[int, int] | None
) -> list[Detection]:
    """Boxes in original pixels; the phrase labels them when the model names nothing or repeats it."""
    found = family.parse_grounding(text, phrase, image_size, input_size)
    return deduplicate([Detection(phrase, d.box, d.score) if d.label.lower() in ("", phrase.lower()) else d
                        for d in found])  # fmt: skip


@dataclass
class DetectionRun:
    """What a detection found so far; complete unless ``stopped`` or ``error``."""

    model_id: str
    phrases: list[str]
    detections: list[Detection] = field(default_factory=list)
    answers: list[str] = field(default_factory=list)  # "[phrase] raw answer", one per phrase asked
    input_sizes: dict[str, tuple[int, int] | None] = field(default_factory=dict)  # what the model saw, per phrase
    stopped: bool = False
    error: EngineError | None = None
    elapsed_s: float = 0.0
    media_digest: str = ""
    created_at: datetime = field(default_factory=datetime.now)

    @property
    def complete(self) -> bool:
        return len(self.answers) == len(self.phrases) and not self.stopped and self.error is None

    @property
    def stem(self) -> str:
        """The downloads' name: ``detections_<YYYYMMDD_HHMMSS>``."""
        return f"detections_{self.created_at:%Y%m%d_%H%M%S}"

    @property
    def query(self) -> str:
        return ", ".join(self.phrases)

    @property
    def raw_output(self) -> str:
        return "\n".join(self.answers)


def detect(
    client: ModelClient,
    image: Image.Image,
    phrases: list[str],
    *,
    stop: threading.Event | None = None,
    on_update: PhraseUpdate | None = None,
    into: DetectionRun | None = None,
) -> DetectionRun:
    """Ground every phrase in ``image``; raises :class:`core.families.CannotGround` for a model that cannot.

    Pass ``into`` to keep what was found if the caller is interrupted half-way (a Stop in the UI).
    """
    family = client.family
    run = into or DetectionRun(client.model_id, list(phrases))
    started = time.perf_counter()
    for phrase in phrases:
        request = build(family, image, phrase)

        def forward(piece: str | None, status: JobStatus, phrase: str = phrase) -> None:
            if on_update is not None:
                on_update(phrase, piece, status)

        try:
            outcome = client.generate(request, stop=stop, on_update=forward)
        finally:
            run.elapsed_s = time.perf_counter() - started
        run.answers.append(f"[{phrase}] {outcome.text}")
        run.input_sizes[phrase] = outcome.input_size
        if outcome.error is not None:
            run.error = outcome.error
            break
        found = parse(family, outcome.text, phrase, image.size, outcome.input_size)
        run.detections = deduplicate([*run.detections, *found])
        if outcome.stopped:
            run.stopped = True
            break
    return run
