"""The history's tables as SQLAlchemy sees them; each change to them comes with an Alembic migration
(``core/history/migrations``), and a test checks that the migrations build exactly these tables."""

from __future__ import annotations

from sqlalchemy import Float, ForeignKey, Index, Integer, MetaData, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

OWNER_CHARS = 200


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention={"ix": "ix_%(table_name)s_%(column_0_N_name)s",
                                           "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
                                           "pk": "pk_%(table_name)s"})  # fmt: skip


class StoredFile(Base):
    """An uploaded file, kept once under its SHA-256 whoever uploaded it; its bytes live on disk."""

    __tablename__ = "files"
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(Integer)
    created: Mapped[float] = mapped_column(Float)


class Workspace(Base):
    """Where a person was: the file on Home, its page, and the result each page shows."""

    __tablename__ = "workspaces"
    owner: Mapped[str] = mapped_column(String(OWNER_CHARS), primary_key=True)
    file_sha: Mapped[str | None] = mapped_column(String(64), nullable=True)
    file_name: Mapped[str] = mapped_column(String(300), default="")
    page: Mapped[int] = mapped_column(Integer, default=1)
    current: Mapped[str] = mapped_column(Text, default="{}")  # JSON: page kind -> item id
    updated: Mapped[float] = mapped_column(Float)


class Item(Base):
    """One piece of work: a conversation, an OCR text, a detection run, a conversion, an extraction."""

    __tablename__ = "items"
    __table_args__ = (Index(None, "owner", "updated"),)
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    owner: Mapped[str] = mapped_column(String(OWNER_CHARS))
    kind: Mapped[str] = mapped_column(String(20))
    file_sha: Mapped[str | None] = mapped_column(String(64), nullable=True)
    file_name: Mapped[str] = mapped_column(String(300), default="")
    media_digest: Mapped[str] = mapped_column(String(300), default="")
    page: Mapped[int] = mapped_column(Integer, default=1)
    model: Mapped[str] = mapped_column(String(300), default="")
    payload: Mapped[str] = mapped_column(Text, default="null")  # core.history.codec JSON
    created: Mapped[float] = mapped_column(Float)
    updated: Mapped[float] = mapped_column(Float)


class Turn(Base):
    """One message of a conversation; an answer is written while it streams (``status`` "writing")."""

    __tablename__ = "turns"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    item_id: Mapped[str] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text, default="")
    payload: Mapped[str] = mapped_column(Text, default="null")  # the ChatTurn, through the codec
    status: Mapped[str] = mapped_column(String(16))  # writing | done
    writer: Mapped[str] = mapped_column(String(32), default="")  # the process writing it
    updated: Mapped[float] = mapped_column(Float)
