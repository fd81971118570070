import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.history import HistoryStore
from tests.postgres_server import new_database, postgres_server

_numbers = itertools.count()


@pytest.fixture(scope="session")
def postgres_base() -> Iterator[str]:
    with postgres_server() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database: a SQLite file (through the default path: no URL) or one on the real PostgreSQL server."""
    if request.param == "sqlite":
        return ""
    return new_database(request.getfixturevalue("postgres_base"), f"history_{next(_numbers)}")


@pytest.fixture
def store(database_url: str, tmp_path: Path) -> Iterator[HistoryStore]:
    opened = HistoryStore.open(tmp_path / "data", database_url)
    yield opened
    opened.close()
