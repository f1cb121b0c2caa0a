"""Unpacking uploaded blueprint archives trusts nothing in them; packing keeps modes."""

from __future__ import annotations

import io
import stat
import tarfile
import zipfile
from pathlib import Path

import pytest

from cairn import errors
from cairn.services import archives


def _tar(members: dict[str, bytes], *, links: dict[str, str] | None = None) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, content in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            info.mode = 0o755 if name.endswith(".sh") else 0o644
            archive.addfile(info, io.BytesIO(content))
        for name, target in (links or {}).items():
            info = tarfile.TarInfo(name)
            info.type = tarfile.SYMTYPE
            info.linkname = target
            archive.addfile(info)
    return buffer.getvalue()


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def test_kind_is_told_from_content() -> None:
    assert archives.kind(_tar({"a": b"x"})) == "tar.gz"
    assert archives.kind(_zip({"a": b"x"})) == "zip"
    assert archives.kind(b"tosca_definitions_version: cloudify_dsl_1_4\n") == "yaml"


def test_tar_unpacks_with_modes_and_unwraps_one_top_folder(tmp_path: Path) -> None:
    data = _tar({"app/blueprint.yaml": b"a: 1\n", "app/scripts/run.sh": b"#!/bin/sh\n"})
    archives.unpack(data, tmp_path)
    root = archives.root_of(tmp_path)
    assert root == tmp_path / "app"
    assert (root / "blueprint.yaml").read_bytes() == b"a: 1\n"
    assert (root / "scripts" / "run.sh").stat().st_mode & stat.S_IXUSR


def test_zip_unpacks(tmp_path: Path) -> None:
    archives.unpack(_zip({"blueprint.yaml": b"b: 2\n", "s/x.py": b"print()\n"}), tmp_path)
    assert archives.root_of(tmp_path) == tmp_path
    assert (tmp_path / "s" / "x.py").read_bytes() == b"print()\n"


@pytest.mark.parametrize("name", ["../evil.yaml", "/etc/evil.yaml", "a/../../evil.yaml"])
def test_members_outside_the_folder_are_refused(tmp_path: Path, name: str) -> None:
    target = tmp_path / "t"
    target.mkdir()
    for data in (_tar({name: b"x"}), _zip({name: b"x"})):
        with pytest.raises(errors.UsageError, match="outside the archive"):
            archives.unpack(data, target)
    assert not (tmp_path / "evil.yaml").exists()


def test_links_are_refused(tmp_path: Path) -> None:
    with pytest.raises(errors.UsageError, match="links and devices are refused"):
        archives.unpack(_tar({"a.yaml": b"x"}, links={"passwd": "/etc/passwd"}), tmp_path)
    assert not (tmp_path / "passwd").exists()


def test_size_and_count_caps(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(archives, "MAX_TOTAL_BYTES", 1000)
    big = _zip({"big.bin": b"0" * 5000})  # compresses to far less than 1000 bytes
    assert len(big) < 1000
    with pytest.raises(errors.UsageError, match="unpacks to more than"):
        archives.unpack(big, tmp_path / "a")
    monkeypatch.setattr(archives, "MAX_FILES", 2)
    with pytest.raises(errors.UsageError, match="more than 2 files"):
        archives.unpack(_tar({"1": b"", "2": b"", "3": b""}), tmp_path / "b")


def test_garbage_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(errors.UsageError, match="cannot be read"):
        archives.unpack(archives.GZIP_MAGIC + b"not really gzip", tmp_path)


def test_pack_round_trip_leaves_out_git(tmp_path: Path) -> None:
    source = tmp_path / "src"
    (source / "scripts").mkdir(parents=True)
    (source / ".git").mkdir()
    (source / ".git" / "HEAD").write_text("ref\n")
    (source / "blueprint.yaml").write_text("x: 1\n")
    script = source / "scripts" / "go.sh"
    script.write_text("#!/bin/sh\n")
    script.chmod(0o755)
    target = tmp_path / "out"
    target.mkdir()
    archives.unpack(archives.pack(source), target)
    assert sorted(p.relative_to(target).as_posix() for p in target.rglob("*") if p.is_file()) == [
        "blueprint.yaml",
        "scripts/go.sh",
    ]
    assert (target / "scripts" / "go.sh").stat().st_mode & stat.S_IXUSR
