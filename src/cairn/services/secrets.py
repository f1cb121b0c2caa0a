"""Secrets: named values for ``get_secret``, encrypted at rest.

Values are encrypted with Fernet (AES-128-CBC with HMAC-SHA256) under a key kept in
``<data dir>/secret.key`` (mode 0600, created on first use); the store holds ciphertext
only. A value is decrypted only by :func:`reveal` (for an admin or operator who asks for it
by name) and by ``Manager.secret_value`` (for ``get_secret`` at run time). Listings carry
names and dates, never values, and nothing here logs.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography import fernet

from cairn import errors
from cairn.model import runtime
from cairn.services import auth, ids

if TYPE_CHECKING:
    from cairn.services import manager as manager_mod

KEY_FILE = "secret.key"
MAX_VALUE_BYTES = 1024 * 1024


class Cipher:
    """Encrypts and decrypts secret values with one Fernet key."""

    def __init__(self, key: bytes) -> None:
        self._fernet = fernet.Fernet(key)

    @classmethod
    def load_or_create(cls, path: Path) -> Cipher:
        """The cipher whose key is in ``path``; a new key (file mode 0600) if there is none."""
        try:
            key = path.read_bytes().strip()
        except FileNotFoundError:
            key = fernet.Fernet.generate_key()
            try:
                _create_key_file(path, key)
            except FileExistsError:  # another process made it first: use theirs
                key = path.read_bytes().strip()
        return cls(key)

    def encrypt(self, value: str) -> bytes:
        return self._fernet.encrypt(value.encode("utf-8"))

    def decrypt(self, ciphertext: bytes) -> str:
        try:
            return self._fernet.decrypt(ciphertext).decode("utf-8")
        except fernet.InvalidToken as exc:
            raise errors.CairnError(
                "a secret cannot be decrypted: the manager's secret.key is not the one it was "
                "encrypted with"
            ) from exc


def _create_key_file(path: Path, key: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(key + b"\n")


def info(secret: runtime.Secret) -> runtime.Secret:
    """The secret without its ciphertext, for listings."""
    return runtime.Secret(
        name=secret.name,
        ciphertext=b"",
        created_at=secret.created_at,
        updated_at=secret.updated_at,
        created_by=secret.created_by,
    )


def _check_value(value: str) -> str:
    if len(value.encode("utf-8")) > MAX_VALUE_BYTES:
        raise ids.FieldError(
            f"a secret value may hold at most {MAX_VALUE_BYTES} bytes", field="value"
        )
    return value


def create(
    manager: manager_mod.Manager, *, name: str, value: str, caller: auth.Caller
) -> runtime.Secret:
    """A new secret (:class:`~cairn.errors.ConflictError` if the name is taken)."""
    ids.check(name, what="secret name", field="name")
    now = manager.clock.now()
    secret = runtime.Secret(
        name=name,
        ciphertext=manager.cipher.encrypt(_check_value(value)),
        created_at=now,
        updated_at=now,
        created_by=caller.user,
    )
    manager.store.put_secret(secret, create=True)
    return info(secret)


def update(manager: manager_mod.Manager, *, name: str, value: str) -> runtime.Secret:
    """Replace a secret's value (:class:`~cairn.errors.NotFoundError` if there is none)."""
    old = manager.store.get_secret(name)
    secret = runtime.Secret(
        name=name,
        ciphertext=manager.cipher.encrypt(_check_value(value)),
        created_at=old.created_at,
        updated_at=manager.clock.now(),
        created_by=old.created_by,
    )
    manager.store.put_secret(secret, create=False)
    return info(secret)


def delete(manager: manager_mod.Manager, name: str) -> None:
    manager.store.get_secret(name)  # NotFoundError names it
    manager.store.delete_secret(name)


def list_(manager: manager_mod.Manager) -> list[runtime.Secret]:
    """Every secret, by name, without values."""
    return [info(s) for s in sorted(manager.store.list_secrets(), key=lambda s: s.name)]


def get(manager: manager_mod.Manager, name: str) -> runtime.Secret:
    """One secret's metadata, without its value."""
    return info(manager.store.get_secret(name))


def reveal(manager: manager_mod.Manager, name: str, *, caller: auth.Caller) -> str:
    """The value of secret ``name``, for an admin or an operator."""
    auth.require(caller, runtime.Role.OPERATOR)
    return manager.secret_value(name)
