"""Every session's work, kept as it happens: SQLite in the data folder by default, any SQLAlchemy URL
(PostgreSQL behind several replicas) when ``DATABASE_URL`` names one; uploaded files on disk under their
SHA-256. Anything the disk or the database refuses raises :class:`HistoryUnavailable`, so a page can say
so and go on without history.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, delete, event, func, select, update
from sqlalchemy.exc import DatabaseError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from core.history import codec
from core.history.blobs import FileStore
from core.history.schema import Item, StoredFile, Turn, Workspace
from core.tasks.chat import ChatTurn

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).with_name("migrations")
KINDS = ("chat", "ocr", "detection", "convert", "extract")
# a streaming answer is written at most this often: a killed server loses at most this much of it
TURN_WRITE_INTERVAL_S = 0.25


class HistoryUnavailable(RuntimeError):
    """The history cannot be read or written (full disk, unwritable folder, database down)."""


@dataclass(frozen=True)
class ItemSummary:
    id: str
    kind: str
    file_name: str
    model: str
    page: int
    created: float
    updated: float


@dataclass(frozen=True)
class StoredItem:
    summary: ItemSummary
    file_sha: str | None
    media_digest: str
    payload: Any  # the task's result as it was saved (a ChatTurn list for a conversation)


@dataclass(frozen=True)
class Place:
    """Where a person was: the file on Home, the page of it, and each page's current item."""

    file_sha: str | None = None
    file_name: str = ""
    page: int = 1
    current: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Cleaned:
    items: int
    files: int
    bytes_freed: int


def sqlite_url(data_dir: Path) -> str:
    return f"sqlite:///{data_dir / 'history.db'}"


def _now() -> float:
    return time.time()


class HistoryStore:
    """One per process; thread-safe. Writes go one at a time (SQLite has one writer anyway)."""

    def __init__(self, url: str, files_dir: Path) -> None:
        self.url = url
        self.writer_id = uuid.uuid4().hex  # this process: an answer it leaves "writing" and dies on is interrupted
        self._write_lock = threading.Lock()
        try:
            self.files = FileStore(files_dir)
            self.engine = _engine(url)
            migrate(self.engine)
        except (OSError, SQLAlchemyError) as error:
            raise HistoryUnavailable(str(error)) from error
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @classmethod
    def open(cls, data_dir: Path, database_url: str = "") -> HistoryStore:
        """The store for ``data_dir``; a SQLite file that is not a database is moved aside and started anew."""
        try:
            data_dir.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise HistoryUnavailable(str(error)) from error
        url = database_url or sqlite_url(data_dir)
        try:
            return cls(url, data_dir / "files")
        except HistoryUnavailable as error:
            database = data_dir / "history.db"
            if database_url or not isinstance(error.__cause__, DatabaseError) or not database.exists():
                raise
            aside = database.with_name(f"history.db.corrupt-{time.strftime('%Y%m%d-%H%M%S')}")
            log.warning("history database %s could not be read (%s); moved aside to %s, starting a new one",
                        database, error.__cause__, aside)  # fmt: skip
            for suffix in ("", "-wal", "-shm"):
                part = database.with_name(database.name + suffix)
                if part.exists():
                    part.rename(aside.with_name(aside.name + suffix))
            return cls(url, data_dir / "files")

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def _reading(self) -> Iterator[Session]:
        try:
            with self._sessions() as session:
                yield session
        except SQLAlchemyError as error:
            raise HistoryUnavailable(str(error)) from error

    @contextmanager
    def _writing(self) -> Iterator[Session]:
        try:
            with self._write_lock, self._sessions.begin() as session:
                yield session
        except (SQLAlchemyError, OSError) as error:
            raise HistoryUnavailable(str(error)) from error

    # -- files ------------------------------------------------------------------------------------------

    def put_file(self, data: bytes) -> str:
        try:
            sha = self.files.put(data)
        except OSError as error:
            raise HistoryUnavailable(str(error)) from error
        with self._writing() as session:
            if session.get(StoredFile, sha) is None:
                session.add(StoredFile(sha256=sha, size=len(data), created=_now()))
        return sha

    def read_file(self, sha: str) -> bytes | None:
        try:
            return self.files.get(sha)
        except OSError as error:
            raise HistoryUnavailable(str(error)) from error

    # -- where a person was ------------------------------------------------------------------------------

    def place(self, owner: str) -> Place | None:
        with self._reading() as session:
            row = session.get(Workspace, owner)
            if row is None:
                return None
            return Place(row.file_sha, row.file_name, row.page, _current(row.current))

    def save_place(self, owner: str, **changes: Any) -> None:
        """Change some of ``file_sha``, ``file_name``, ``page``; ``current={kind: id or None}`` merges."""
        with self._writing() as session:
            row = session.get(Workspace, owner)
            if row is None:
                row = Workspace(owner=owner, file_sha=None, file_name="", page=1, current="{}", updated=_now())
                session.add(row)
            current = _current(row.current)
            for kind, item_id in (changes.pop("current", None) or {}).items():
                if item_id is None:
                    current.pop(kind, None)
                else:
                    current[kind] = item_id
            row.current = json.dumps(current)
            for name, value in changes.items():
                setattr(row, name, value)
            row.updated = _now()

    # -- items ------------------------------------------------------------------------------------------

    def save_item(self, owner: str, kind: str, payload: Any, *, item_id: str | None = None,
                  file_sha: str | None = None, file_name: str = "", media_digest: str = "", page: int = 1,
                  model: str = "") -> str:  # fmt: skip
        """Store (or replace, when ``item_id`` is this owner's) one result; returns its id."""
        encoded = codec.dumps(payload)
        now = _now()
        with self._writing() as session:
            row = session.get(Item, item_id) if item_id else None
            if row is None or row.owner != owner:
                row = Item(id=uuid.uuid4().hex, owner=owner, kind=kind, created=now)
                session.add(row)
            row.kind, row.payload, row.updated = kind, encoded, now
            row.file_sha, row.file_name, row.media_digest = file_sha, file_name[:300], media_digest
            row.page, row.model = page, model[:300]
            return row.id

    def items(self, owner: str, kind: str | None = None) -> list[ItemSummary]:
        with self._reading() as session:
            query = select(Item).where(Item.owner == owner).order_by(Item.updated.desc())
            if kind is not None:
                query = query.where(Item.kind == kind)
            return [_summary(row) for row in session.scalars(query)]

    def item(self, owner: str, item_id: str) -> StoredItem | None:
        """One of ``owner``'s items with its payload; None for another person's id or a deleted one."""
        with self._reading() as session:
            row = session.get(Item, item_id)
            if row is None or row.owner != owner:
                return None
            payload = self._turns(session, item_id) if row.kind == "chat" else codec.loads(row.payload)
            return StoredItem(_summary(row), row.file_sha, row.media_digest, payload)

    def delete_item(self, owner: str, item_id: str) -> bool:
        """Delete it and its turns; a file no item or workspace uses any more goes from the disk too."""
        with self._writing() as session:
            row = session.get(Item, item_id)
            if row is None or row.owner != owner:
                return False
            sha = row.file_sha
            session.execute(delete(Turn).where(Turn.item_id == item_id))
            session.delete(row)
            session.flush()
            workspace = session.get(Workspace, owner)
            if workspace is not None:
                current = {kind: value for kind, value in _current(workspace.current).items() if value != item_id}
                workspace.current = json.dumps(current)
            orphans = self._orphans(session, [sha] if sha else [])
        self._remove_files([orphan for orphan, _ in orphans])
        return True

    # -- conversations ----------------------------------------------------------------------------------

    def add_turn(self, item_id: str, turn: ChatTurn, *, writing: bool = False) -> int:
        """Append ``turn`` to the conversation; a ``writing`` one is an answer that is still streaming."""
        with self._writing() as session:
            position = session.scalar(select(func.count()).where(Turn.item_id == item_id)) or 0
            row = Turn(item_id=item_id, position=position, text=turn.text, payload=codec.dumps(turn),
                       status="writing" if writing else "done", writer=self.writer_id, updated=_now())  # fmt: skip
            session.add(row)
            session.execute(update(Item).where(Item.id == item_id).values(updated=_now()))
            session.flush()
            return row.id

    def write_answer(self, turn_id: int, text: str) -> None:
        """The streaming answer so far."""
        with self._writing() as session:
            session.execute(update(Turn).where(Turn.id == turn_id).values(text=text, updated=_now()))

    def finish_turn(self, turn_id: int, turn: ChatTurn) -> None:
        with self._writing() as session:
            session.execute(update(Turn).where(Turn.id == turn_id).values(
                text=turn.text, payload=codec.dumps(turn), status="done", updated=_now()))  # fmt: skip

    def _turns(self, session: Session, item_id: str) -> list[ChatTurn]:
        turns = []
        for row in session.scalars(select(Turn).where(Turn.item_id == item_id).order_by(Turn.position)):
            turn = codec.loads(row.payload)
            if not isinstance(turn, ChatTurn):
                continue
            turn.text = row.text
            if row.status == "writing" and row.writer != self.writer_id:  # its process died mid-answer
                turn.interrupted = True
            turns.append(turn)
        return turns

    # -- retention --------------------------------------------------------------------------------------

    def clean(self, *, older_than_days: float, max_bytes: int | None) -> Cleaned:
        """Delete items not touched for ``older_than_days``, then the oldest until the files fit ``max_bytes``."""
        cutoff = _now() - older_than_days * 86400
        with self._writing() as session:
            for workspace in session.scalars(select(Workspace).where(Workspace.updated < cutoff)):
                session.delete(workspace)
            rows = list(session.scalars(select(Item).where(Item.updated < cutoff)))
            orphans = self._drop(session, rows)
            dropped = len(rows)
            if max_bytes is not None:
                used = (session.scalar(select(func.coalesce(func.sum(StoredFile.size), 0))) or 0) - sum(
                    size for _, size in orphans
                )
                for row in list(session.scalars(select(Item).order_by(Item.updated))):
                    if used <= max_bytes:
                        break
                    freed = self._drop(session, [row])
                    orphans += freed
                    used -= sum(size for _, size in freed)
                    dropped += 1
        self._remove_files([sha for sha, _ in orphans])
        return Cleaned(dropped, len(orphans), sum(size for _, size in orphans))

    def _drop(self, session: Session, rows: list[Item]) -> list[tuple[str, int]]:
        """Delete ``rows`` with their turns; the files that no one uses any more, with their sizes."""
        shas = [row.file_sha for row in rows if row.file_sha]
        for row in rows:
            session.execute(delete(Turn).where(Turn.item_id == row.id))
            session.delete(row)
        session.flush()
        return self._orphans(session, shas)

    def _orphans(self, session: Session, shas: list[str]) -> list[tuple[str, int]]:
        found = []
        for sha in set(shas):
            used = session.scalar(select(func.count()).select_from(Item).where(Item.file_sha == sha)) or 0
            used += session.scalar(select(func.count()).select_from(Workspace).where(Workspace.file_sha == sha)) or 0
            stored = session.get(StoredFile, sha)
            if not used and stored is not None:
                found.append((sha, stored.size))
        return found

    def _remove_files(self, shas: list[str]) -> None:
        """The rows first, then the bytes: a crash between leaves a stray file, never a row without one."""
        if not shas:
            return
        with self._writing() as session:
            session.execute(delete(StoredFile).where(StoredFile.sha256.in_(shas)))
        for sha in shas:
            self.files.remove(sha)


def _summary(row: Item) -> ItemSummary:
    return ItemSummary(row.id, row.kind, row.file_name, row.model, row.page, row.created, row.updated)


def _current(text: str) -> dict[str, str]:
    try:
        value = json.loads(text or "{}")
    except ValueError:
        return {}
    return {str(kind): str(item) for kind, item in value.items()} if isinstance(value, dict) else {}


def _engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _pragmas(connection: Any, _record: Any) -> None:
            cursor = connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")  # readers never wait for the one writer
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True)


def migrate(engine: Engine, revision: str = "head") -> None:
    """Bring the database to ``revision`` with Alembic (an empty one is created from the first migration)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def schema_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()
