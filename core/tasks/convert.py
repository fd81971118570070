"""Convert: a page to a structured document. A document model writes DocTags (its family's instruction,
greedy, special tokens kept since they are the markup); :mod:`core.doctags` makes the document of it.

A multi-page run converts page by page; each page's document is made as soon as its answer ends, so no
page image is kept, and the pages done survive a Stop.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from PIL import Image

from core.doctags import Conversion, ConvertedPage, markdown_page_document, page_document
from core.engines.types import (
    Capability,
    ChatMessage,
    EngineError,
    GenerationRequest,
    GenerationStats,
    Role,
    SamplingParams,
)
from core.families import Family
from core.media import InvalidInput
from core.serving import JobOutcome
from core.tasks.base import LabAnswer, LabOptions

NEEDS = Capability.CONVERT


def build(family: Family, image: Image.Image, max_new_tokens: int) -> GenerationRequest:
    """One page to DocTags."""
    return GenerationRequest(
        (ChatMessage(Role.USER, family.convert_prompt(), (image,)),),
        SamplingParams(max_new_tokens=max_new_tokens, do_sample=False),
        keep_special_tokens=family.convert_keeps_special_tokens,
        task="convert",
        repetition_guard=True,
    )


def parse(family: Family, text: str, image: Image.Image) -> Any:
    """One page's DoclingDocument from what the converter wrote (DocTags, or a page reader's Markdown)."""
    if family.convert_format == "markdown":
        return markdown_page_document(text, image)
    return page_document(ConvertedPage(text, image))


@dataclass
class ConvertResult:
    """Pages converted so far (all of them once the run ends), and how the run went."""

    page_digests: list[str]  # the media digest of each page asked for, in order
    model_title: str
    documents: list[Any] = field(default_factory=list)  # one DoclingDocument per page done
    stats: list[GenerationStats] = field(default_factory=list)
    cut_short: list[int] = field(default_factory=list)  # 1-based pages whose answer hit the token limit
    looped: list[int] = field(default_factory=list)  # 1-based pages the repetition guard ended (kept up to the loop)
    stopped: bool = False
    error: EngineError | None = None
    failed_page: int | None = None  # 1-based page that could not be drawn, and why
    page_error: InvalidInput | None = None
    created_at: datetime = field(default_factory=datetime.now)
    _conversion: Conversion | None = None

    @property
    def stamp(self) -> str:
        return f"{self.created_at:%Y%m%d_%H%M%S}"

    @property
    def conversion(self) -> Conversion | None:
        if self._conversion is None and self.documents:
            self._conversion = Conversion.of_documents(self.documents, name=f"document_{self.stamp}")
        return self._conversion

    def add(self, document: Any, stats: GenerationStats, limit: int) -> None:
        self.documents.append(document)
        self.stats.append(stats)
        if stats.new_tokens >= limit:
            self.cut_short.append(len(self.documents))
        self._conversion = None

    def record(self, family: Family, outcome: JobOutcome, image: Image.Image, limit: int) -> None:
        """Take one page's outcome: a document when it finished, else the failure or the Stop."""
        if outcome.error is not None:
            self.error = outcome.error
        elif outcome.stopped and not outcome.looped:
            self.stopped = True
        else:
            self.add(parse(family, outcome.text, image), outcome.stats, limit)
            if outcome.looped:
                self.looped.append(len(self.documents))

    @property
    def ended(self) -> bool:
        """Stopped or failed: the pages after this one are not converted."""
        return self.stopped or self.error is not None or self.failed_page is not None

    def page_of(self, media_digest: str) -> int | None:
        """Which converted page (1-based) the medium with ``media_digest`` is, if it was converted."""
        done = self.page_digests[: len(self.documents)]
        return done.index(media_digest) + 1 if media_digest in done else None


def lab_requests(family: Family, image: Image.Image, options: LabOptions) -> list[GenerationRequest]:
    return [build(family, image, options.sampling.max_new_tokens)]


def lab_answer(family: Family, image: Image.Image, options: LabOptions, outcomes: list[JobOutcome]) -> LabAnswer:
    request = build(family, image, options.sampling.max_new_tokens)
    text = outcomes[0].text
    return LabAnswer(request.messages[-1].text, text, Conversion.of_documents([parse(family, text, image)]).markdown())
