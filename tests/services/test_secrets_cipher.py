"""The cipher that keeps secret values encrypted at rest."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from cairn import errors
from cairn.services import secrets


def test_key_file_is_created_private_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "secret.key"
    first = secrets.Cipher.load_or_create(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    sealed = first.encrypt("pa55word")
    assert b"pa55word" not in sealed
    assert secrets.Cipher.load_or_create(path).decrypt(sealed) == "pa55word"


def test_another_key_cannot_decrypt(tmp_path: Path) -> None:
    sealed = secrets.Cipher.load_or_create(tmp_path / "a.key").encrypt("x")
    other = secrets.Cipher.load_or_create(tmp_path / "b.key")
    with pytest.raises(errors.CairnError, match="not the one it was encrypted with"):
        other.decrypt(sealed)
