"""Serving: the pool that owns loaded models, the fair queue, and the jobs that run requests through them."""

from core.serving.core import ModelClient, ServingCore
from core.serving.job import Job, JobOutcome, JobStatus, Phase
from core.serving.pool import LoadState, ModelStatus
from core.serving.queue import Priority

__all__ = [
    "Job",
    "JobOutcome",
    "JobStatus",
    "LoadState",
    "ModelClient",
    "ModelStatus",
    "Phase",
    "Priority",
    "ServingCore",
]
