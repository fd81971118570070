"""The persistent history: every session's work stored as it happens (see :mod:`core.history.store`)."""

from core.history.store import (
    Cleaned,
    HistoryStore,
    HistoryUnavailable,
    ItemSummary,
    Place,
    StoredItem,
)

__all__ = ["Cleaned", "HistoryStore", "HistoryUnavailable", "ItemSummary", "Place", "StoredItem"]
