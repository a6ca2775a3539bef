"""Files attached to work logs and office-day minutes (§2.5(2)).

A file's bytes go in the row (`attachment.content`, the default) or, when a directory is
configured (DXDESK_ATTACHMENT_DIR), in that directory under their sha256 with the row
holding no content. The row always keeps name, media type, size and sha256, so a
document can list a file without reading it, and `StoredFile.read` gets the bytes when
they are needed (the bundle), one file at a time.

Removing a log or minutes removes its files: the foreign keys cascade (ON DELETE
CASCADE, SQLite with foreign_keys=ON) and `remove_for_log` / `remove_for_minutes` delete
the rows explicitly in the caller's transaction and unlink directory files no row uses
any more once it commits (a rolled-back removal keeps them). `sweep` removes files left
in the directory by a cascade or by a write whose transaction rolled back.

What may be attached is decided here once (`TYPES`, `sniff`): the extension names the
type, and the first bytes must agree with it (a renamed executable is not a PDF).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePath

from sqlalchemy import delete, event
from sqlmodel import Session, col, select

from storage.models import Attachment

# extension → media type: PDF, Word, Excel, PowerPoint, PNG, JPEG, text and CSV
TYPES: dict[str, str] = {
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "txt": "text/plain",
    "csv": "text/csv",
}
MAGIC: dict[str, tuple[bytes, ...]] = {
    "pdf": (b"%PDF-",),
    "docx": (b"PK\x03\x04",),
    "xlsx": (b"PK\x03\x04",),
    "pptx": (b"PK\x03\x04",),
    "png": (b"\x89PNG\r\n\x1a\n",),
    "jpg": (b"\xff\xd8\xff",),
    "jpeg": (b"\xff\xd8\xff",),
}
TEXT_ENCODINGS = ("utf-8-sig", "cp932")  # what a Japanese office writes text and CSV in
MAX_NAME = 255


@dataclass(frozen=True)
class NewFile:
    """A checked file to store: the name as the person gave it (without any folder)."""

    filename: str
    media_type: str
    content: bytes


@dataclass(frozen=True)
class StoredFile:
    """An attachment as documents list it; `read(session)` gets its bytes."""

    id: int
    log_id: int | None
    minutes_id: int | None
    filename: str
    media_type: str
    size: int
    sha256: str
    uploaded_by_id: int
    uploaded_at: datetime
    path: str | None  # the file in the attachment directory; None: in the database

    def read(self, session: Session) -> bytes:
        if self.path is not None:
            return Path(self.path).read_bytes()
        content = session.exec(select(Attachment.content).where(Attachment.id == self.id)).one()
        return content or b""


def extension(filename: str) -> str:
    return PurePath(filename).suffix.lower().lstrip(".")


def sniff(filename: str, content: bytes) -> str | None:
    """The media type of an attachable file, or None: the extension is one of `TYPES`
    and the content agrees (magic bytes; text and CSV decode as UTF-8 or Shift_JIS and
    hold no NUL)."""
    ext = extension(filename)
    if ext not in TYPES:
        return None
    if ext in MAGIC:
        return TYPES[ext] if content.startswith(MAGIC[ext]) else None
    if b"\x00" in content:
        return None
    for encoding in TEXT_ENCODINGS:
        try:
            content.decode(encoding)
        except UnicodeDecodeError:
            continue
        return TYPES[ext]
    return None


def safe_name(filename: str) -> str:
    """The last part of a path, without control characters, at most 255 characters
    (the extension kept)."""
    name = PurePath(filename.replace("\\", "/")).name
    name = "".join(c for c in name if c.isprintable()).strip() or "file"
    if len(name) > MAX_NAME:
        suffix = PurePath(name).suffix[:20]
        name = name[: MAX_NAME - len(suffix)] + suffix
    return name


def add(
    session: Session,
    files: Sequence[NewFile],
    *,
    by: int,
    at: datetime,
    log_id: int | None = None,
    minutes_id: int | None = None,
    directory: str | Path | None = None,
) -> list[Attachment]:
    """Store `files` for one log or one minutes, in the caller's transaction."""
    assert (log_id is None) != (minutes_id is None)
    rows = []
    for file in files:
        digest = hashlib.sha256(file.content).hexdigest()
        content: bytes | None = file.content
        if directory is not None:
            _write(Path(directory), digest, file.content)
            content = None
        row = Attachment(
            log_id=log_id,
            minutes_id=minutes_id,
            filename=safe_name(file.filename),
            media_type=file.media_type,
            size=len(file.content),
            sha256=digest,
            content=content,
            path=str(_path(Path(directory), digest)) if directory is not None else None,
            uploaded_by_id=by,
            uploaded_at=at,
        )
        session.add(row)
        rows.append(row)
    session.flush()
    return rows


def _path(directory: Path, digest: str) -> Path:
    return directory.resolve() / digest[:2] / digest


def _write(directory: Path, digest: str, content: bytes) -> None:
    """Content-addressed: the same bytes attached twice are one file."""
    path = _path(directory, digest)
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".part")
    partial.write_bytes(content)
    partial.replace(path)


_COLUMNS = (
    Attachment.id,
    Attachment.log_id,
    Attachment.minutes_id,
    Attachment.filename,
    Attachment.media_type,
    Attachment.size,
    Attachment.sha256,
    Attachment.uploaded_by_id,
    Attachment.uploaded_at,
    Attachment.path,
)


def _listed(session: Session, column: object, ids: Iterable[int]) -> list[StoredFile]:
    wanted = sorted(set(ids))
    if not wanted:
        return []
    rows = session.exec(
        select(*_COLUMNS)  # type: ignore[call-overload]
        .where(col(column).in_(wanted))
        .order_by(col(column), col(Attachment.id))
    ).all()
    return [StoredFile(*row) for row in rows]


def for_logs(session: Session, log_ids: Iterable[int]) -> list[StoredFile]:
    """The files of these logs, by log then in the order attached (no bytes read)."""
    return _listed(session, Attachment.log_id, log_ids)


def for_minutes(session: Session, minutes_ids: Iterable[int]) -> list[StoredFile]:
    """The files of these minutes, by minutes then in the order attached."""
    return _listed(session, Attachment.minutes_id, minutes_ids)


def remove_for_log(session: Session, log_id: int) -> None:
    _remove(session, col(Attachment.log_id) == log_id)


def remove_for_minutes(session: Session, minutes_id: int) -> None:
    _remove(session, col(Attachment.minutes_id) == minutes_id)


def _remove(session: Session, where: object) -> None:
    paths = set(session.exec(select(Attachment.path).where(where)).all())  # type: ignore[call-overload]
    session.exec(delete(Attachment).where(where))  # type: ignore[call-overload]
    paths.discard(None)
    if paths:
        _unlink_after_commit(session, {p for p in paths if p})


def _unlink_after_commit(session: Session, paths: set[str]) -> None:
    """Once the removal is committed, each file no other row still points at goes."""

    def unlink(committed: Session) -> None:
        with Session(committed.get_bind()) as fresh:
            used = set(
                fresh.exec(select(Attachment.path).where(col(Attachment.path).in_(paths))).all()
            )
        for path in paths - used:
            Path(path).unlink(missing_ok=True)

    event.listen(session, "after_commit", unlink, once=True)


def sweep(session: Session, directory: str | Path) -> list[Path]:
    """Remove the files in `directory` no row points at; returns them."""
    root = Path(directory).resolve()
    if not root.is_dir():
        return []
    used = {p for p in session.exec(select(Attachment.path)).all() if p}
    gone = []
    for path in root.glob("*/*"):
        if path.is_file() and str(path) not in used:
            path.unlink()
            gone.append(path)
    return gone
