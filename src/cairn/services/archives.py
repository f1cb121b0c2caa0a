"""Blueprint archives: unpack an uploaded tar.gz or zip safely; pack a folder for upload.

Uploads come from the network, so unpacking trusts nothing in them: every member must land
inside the target folder (no absolute paths, no ``..``, no links, no devices), and the
number of files and their total size are capped, so a small archive cannot fill the disk.
"""

from __future__ import annotations

import io
import os
import posixpath
import tarfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

from cairn import errors

MAX_FILES = 10_000
MAX_TOTAL_BYTES = 512 * 1024 * 1024
SKIPPED_NAMES = frozenset({".git", "__pycache__", ".DS_Store"})

GZIP_MAGIC = b"\x1f\x8b"
ZIP_MAGIC = b"PK\x03\x04"


def kind(data: bytes) -> str:
    """``"tar.gz"``, ``"zip"``, ``"tar"`` or ``"yaml"`` (anything else), by content."""
    if data.startswith(GZIP_MAGIC):
        return "tar.gz"
    if data.startswith(ZIP_MAGIC):
        return "zip"
    if len(data) > 262 and data[257:262] == b"ustar":
        return "tar"
    return "yaml"


def unpack(data: bytes, target: Path) -> None:
    """Unpack the archive ``data`` into the (existing, empty) folder ``target``."""
    found = kind(data)
    if found == "zip":
        _unzip(data, target)
    elif found in ("tar.gz", "tar"):
        _untar(data, target)
    else:
        raise errors.UsageError("the upload is neither a tar.gz, tar nor zip archive")


def _member_path(name: str, target: Path) -> Path | None:
    """Where member ``name`` goes, None for folder entries; UsageError if it escapes."""
    clean = posixpath.normpath(name.replace("\\", "/"))
    if clean in (".", "") or name.endswith("/"):
        return None
    if clean.startswith(("/", "../")) or clean == ".." or ":" in clean.split("/")[0]:
        raise errors.UsageError(f"the archive member {name!r} points outside the archive")
    return target / clean


class _Budget:
    """Counts files and bytes written, refusing to go past the caps."""

    def __init__(self) -> None:
        self.files = 0
        self.bytes = 0

    @property
    def remaining(self) -> int:
        return MAX_TOTAL_BYTES - self.bytes

    def add_file(self) -> None:
        self.files += 1
        if self.files > MAX_FILES:
            raise errors.UsageError(f"the archive holds more than {MAX_FILES} files")

    def add_bytes(self, size: int) -> None:
        self.bytes += size
        if self.bytes > MAX_TOTAL_BYTES:
            raise errors.UsageError(
                f"the archive unpacks to more than {MAX_TOTAL_BYTES // (1024 * 1024)} MiB"
            )


def _untar(data: bytes, target: Path) -> None:
    budget = _Budget()
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as archive:
            for member in archive:
                if member.isdir():
                    continue
                if not member.isfile():
                    raise errors.UsageError(
                        f"the archive member {member.name!r} is not a regular file or folder "
                        "(links and devices are refused)"
                    )
                path = _member_path(member.name, target)
                if path is None:
                    continue
                budget.add_file()
                budget.add_bytes(member.size)
                source = archive.extractfile(member)
                if source is None:
                    continue
                _write(path, source.read(member.size), executable=bool(member.mode & 0o100))
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise errors.UsageError(f"the archive cannot be read: {exc}") from exc


def _unzip(data: bytes, target: Path) -> None:
    budget = _Budget()
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            for info in archive.infolist():
                if info.is_dir():
                    continue
                mode = info.external_attr >> 16
                if mode and (mode & 0o170000) not in (0, 0o100000):
                    raise errors.UsageError(
                        f"the archive member {info.filename!r} is not a regular file"
                    )
                path = _member_path(info.filename, target)
                if path is None:
                    continue
                budget.add_file()
                with archive.open(info) as source:  # sizes in zip headers may lie
                    content = source.read(budget.remaining + 1)
                budget.add_bytes(len(content))
                _write(path, content, executable=bool(mode & 0o100))
    except (zipfile.BadZipFile, EOFError, OSError) as exc:
        raise errors.UsageError(f"the archive cannot be read: {exc}") from exc


def _write(path: Path, content: bytes, *, executable: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    if executable:
        path.chmod(0o755)


def root_of(folder: Path) -> Path:
    """The blueprint's root: the only subfolder when the archive wrapped everything in one
    (as ``tar czf app.tar.gz app/`` does), else ``folder`` itself."""
    entries = [e for e in folder.iterdir() if e.name not in SKIPPED_NAMES]
    if len(entries) == 1 and entries[0].is_dir():
        return entries[0]
    return folder


def pack(folder: Path) -> bytes:
    """``folder``'s files as a tar.gz (paths relative to it; .git and caches left out).

    Modes are kept, so executable scripts stay executable; links are followed. A folder
    over the caps a manager accepts is refused here already.
    """
    buffer = io.BytesIO()
    budget = _Budget()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for path in _files(folder):
            budget.add_file()
            budget.add_bytes(path.stat().st_size)
            relative = path.relative_to(folder).as_posix()
            archive.add(str(path), arcname=relative, recursive=False)
    return buffer.getvalue()


def _files(folder: Path) -> Iterator[Path]:
    for root, dirs, files in os.walk(folder, followlinks=True):
        dirs[:] = sorted(d for d in dirs if d not in SKIPPED_NAMES)
        for name in sorted(files):
            if name not in SKIPPED_NAMES:
                yield Path(root) / name
