"""Migrations from empty and from the previous version; a corrupt file, an unwritable folder, a full disk."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, text

from core.engines.types import Role
from core.history import HistoryStore, HistoryUnavailable
from core.history.schema import Base
from core.history.store import migrate, schema_revision, sqlite_url
from core.tasks.chat import ChatTurn


def _url(database_url: str, data: Path) -> str:
    data.mkdir(parents=True, exist_ok=True)
    return database_url or sqlite_url(data)


def test_an_empty_database_is_built_to_exactly_the_models_tables(database_url: str, tmp_path: Path) -> None:
    engine = create_engine(_url(database_url, tmp_path / "data"))
    migrate(engine)
    assert schema_revision(engine) == "0002"
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []  # a model changed without a migration turns this red
    engine.dispose()


def test_a_first_version_database_upgrades_and_keeps_its_work(database_url: str, tmp_path: Path) -> None:
    url = _url(database_url, tmp_path / "data")
    engine = create_engine(url)
    migrate(engine, "0001")
    turn = '{"~":"dc","class":"ChatTurn","v":{"role":{"~":"enum","class":"Role","v":"assistant"},"text":"Hello"}}'
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO items (id, owner, kind, file_sha, file_name, media_digest, page, model, payload, created,"
                " updated) VALUES ('i1', 't:old', 'chat', NULL, 'old.png', 'd', 1, 'm', 'null', 1, 1)"
            )
        )
        connection.execute(text(
            "INSERT INTO turns (item_id, position, text, payload, status, updated) VALUES ('i1', 0, 'Hel',"
            " :payload, 'writing', 1)"), {"payload": turn})  # fmt: skip
    engine.dispose()

    store = HistoryStore(url, tmp_path / "files")  # opening upgrades
    try:
        assert schema_revision(store.engine) == "0002"
        [answer] = store.item("t:old", "i1").payload
        # written by a version that did not record its writer, and never finished: interrupted
        assert (answer.role, answer.text, answer.interrupted) == (Role.ASSISTANT, "Hel", True)
    finally:
        store.close()


def test_a_corrupt_sqlite_file_is_moved_aside_and_a_fresh_one_started(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "history.db").write_bytes(b"this is not a database, whatever it once was" * 100)
    with caplog.at_level(logging.WARNING, logger="core.history.store"):
        store = HistoryStore.open(data)
    try:
        item = store.save_item("t:a", "ocr", "works again")
        assert store.item("t:a", item).payload == "works again"
    finally:
        store.close()
    [aside] = data.glob("history.db.corrupt-*")
    assert aside.read_bytes().startswith(b"this is not a database")
    assert any("moved aside" in record.getMessage() for record in caplog.records)


def test_a_data_folder_that_cannot_be_made_says_so(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(HistoryUnavailable):
        HistoryStore.open(blocker / "data")


def test_a_full_disk_refuses_the_file_whole_and_the_history_keeps_working(small_disk: Path) -> None:
    store = HistoryStore.open(small_disk / "data")
    try:
        kept = store.put_file(b"k" * 1000)
        with pytest.raises(HistoryUnavailable):
            store.put_file(b"x" * 3 * 2**20)
        leftovers = [path for path in store.files.root.rglob("*") if path.is_file() and path.name != kept]
        assert leftovers == []  # no half-written file
        assert store.read_file(kept) == b"k" * 1000
        item = store.save_item("t:a", "chat", None)
        store.add_turn(item, ChatTurn(Role.USER, "still stored"))
        assert store.item("t:a", item).payload[0].text == "still stored"
    finally:
        store.close()


def test_many_threads_write_at_once_without_losing_a_turn(store: HistoryStore) -> None:
    import threading

    item = store.save_item("t:a", "chat", None)

    def write(number: int) -> None:
        for step in range(10):
            store.add_turn(item, ChatTurn(Role.USER, f"{number}-{step}"))

    threads = [threading.Thread(target=write, args=(number,)) for number in range(4)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert time.monotonic() - started < 60
    texts = sorted(turn.text for turn in store.item("t:a", item).payload)
    assert texts == sorted(f"{number}-{step}" for number in range(4) for step in range(10))
