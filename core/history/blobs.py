"""Uploaded files on disk under their SHA-256: written to a temporary name and renamed, so a crash or a
full disk never leaves half a file under a real name."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path


class FileStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    def path(self, sha: str) -> Path:
        if len(sha) != 64 or not all(char in "0123456789abcdef" for char in sha):
            raise ValueError(f"not a SHA-256: {sha!r}")
        return self.root / sha[:2] / sha

    def put(self, data: bytes) -> str:
        sha = hashlib.sha256(data).hexdigest()
        target = self.path(sha)
        if target.exists():
            return sha
        target.parent.mkdir(exist_ok=True)
        write_atomically(target, data)
        return sha

    def get(self, sha: str) -> bytes | None:
        try:
            return self.path(sha).read_bytes()
        except FileNotFoundError:
            return None

    def remove(self, sha: str) -> None:
        self.path(sha).unlink(missing_ok=True)

    def used_bytes(self) -> int:
        return sum(path.stat().st_size for path in self.root.glob("??/*") if path.is_file())


def write_atomically(target: Path, data: bytes) -> None:
    """``data`` at ``target`` whole or not at all: a temporary file beside it, flushed, then renamed."""
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
