"""Who may call the manager: bearer tokens with a role.

A token is 32 random bytes, URL-safe encoded, shown once when it is created. The store
keeps only its SHA-256 digest, so a copy of the database lets nobody in. Roles nest:
a viewer reads; an operator also runs workflows and manages blueprints and deployments; an
admin may do everything, tokens and secrets included. An agent token belongs to one site and
allows nothing but fetching and reporting that site's work.

On its first start the manager creates an admin token and writes it to
``<data dir>/admin.token``, readable by its owner only; the CLI on the same machine reads
it from there when no other token is given.
"""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
import threading
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from cairn import errors
from cairn.model import runtime

if TYPE_CHECKING:
    from cairn.services import manager as manager_mod
    from cairn.store import interface

log = logging.getLogger(__name__)
ADMIN_TOKEN_FILE = "admin.token"
TOKEN_BYTES = 32

_RANK = {
    runtime.Role.AGENT: -1,
    runtime.Role.VIEWER: 0,
    runtime.Role.OPERATOR: 1,
    runtime.Role.ADMIN: 2,
}


class InvalidToken(errors.PermissionDenied):
    """The token is missing, unknown or revoked."""


@dataclass(frozen=True, kw_only=True)
class Caller:
    """Who is calling: the token's id and role (``user`` names them in records)."""

    token_id: str
    role: runtime.Role
    site: str | None = None  # for an agent token: its site

    @property
    def user(self) -> str:
        return f"token:{self.token_id}"


@dataclass(frozen=True, kw_only=True)
class IssuedToken:
    """A token just created: the only moment its secret value is known."""

    token: runtime.Token
    value: str


def digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def allows(role: runtime.Role, needed: runtime.Role) -> bool:
    """Whether ``role`` may do what ``needed`` may."""
    return _RANK[role] >= _RANK[needed]


class Callers:
    """Valid tokens recently looked up, by digest: a thousand agents polling, acknowledging
    and reporting would otherwise cost a read of the tokens table per request. Only valid
    tokens are kept (an unknown or revoked one is looked up each time), and every
    revocation through this manager empties it (:meth:`forget`), so a token revoked here
    stops working at once.

    An entry lasts ``ttl`` seconds. With :meth:`start`, a thread looks up every remembered
    token in one read each ``ttl / 2`` seconds (:meth:`revalidate`): the valid ones are kept
    another ``ttl``, the others dropped. Tokens in use then cost no read per request however
    many agents poll, and one revoked through another replica stops working here within
    ``ttl / 2`` seconds (plus the read's own time)."""

    def __init__(self, *, ttl: float = 30.0, size: int = 100_000) -> None:
        self.ttl = ttl
        self.size = size
        self._lock = threading.Lock()
        self._found: dict[str, tuple[float, Caller]] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def get(self, key: str) -> Caller | None:
        with self._lock:
            entry = self._found.get(key)
        if entry is None or entry[0] < time.monotonic():
            return None
        return entry[1]

    def put(self, key: str, caller: Caller) -> None:
        with self._lock:
            if len(self._found) >= self.size:
                self._found.clear()
            self._found[key] = (time.monotonic() + self.ttl, caller)

    def forget(self) -> None:
        with self._lock:
            self._found.clear()

    def revalidate(self, lookup: Callable[[Collection[str]], Mapping[str, runtime.Token]]) -> None:
        """Looks the remembered tokens up again (``lookup``: digests to the stored tokens):
        the valid ones last another ``ttl``, the others are forgotten."""
        with self._lock:
            keys = list(self._found)
        if not keys:
            return
        found = lookup(keys)
        until = time.monotonic() + self.ttl
        with self._lock:
            for key in keys:
                token = found.get(key)
                if token is None or token.revoked:
                    self._found.pop(key, None)
                elif key in self._found:  # not forgotten meanwhile (a revocation here)
                    caller = Caller(token_id=token.id, role=token.role, site=token.site)
                    self._found[key] = (until, caller)

    def start(self, lookup: Callable[[Collection[str]], Mapping[str, runtime.Token]]) -> None:
        """Revalidates every ``ttl / 2`` seconds in a thread until :meth:`close`."""
        self._thread = threading.Thread(
            target=self._run, args=(lookup,), name="cairn-tokens", daemon=True
        )
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5.0)
            self._thread = None

    def _run(self, lookup: Callable[[Collection[str]], Mapping[str, runtime.Token]]) -> None:
        while not self._stop.wait(self.ttl / 2):
            try:
                self.revalidate(lookup)
            except errors.CairnError:  # entries then expire as usual: looked up one by one
                log.exception("could not revalidate the remembered tokens")


def remembered(callers: Callers, value: str | None) -> Caller | None:
    """The caller holding token ``value`` if ``callers`` has it (no I/O), else None."""
    return callers.get(digest(value)) if value else None


def identify(store: interface.Reader, value: str | None, callers: Callers | None = None) -> Caller:
    """The caller holding token ``value``; :class:`InvalidToken` if it is no valid token.
    With ``callers``, a token found valid there within its ``ttl`` is not looked up again."""
    if not value:
        raise InvalidToken("a bearer token is required (Authorization: Bearer TOKEN)")
    key = digest(value)
    cached = callers.get(key) if callers is not None else None
    if cached is not None:
        return cached
    found = store.find_token(key)
    if found is None or found.revoked:
        raise InvalidToken("the token is unknown or revoked")
    caller = Caller(token_id=found.id, role=found.role, site=found.site)
    if callers is not None:
        callers.put(key, caller)
    return caller


def authenticate(store: interface.Reader, value: str | None) -> runtime.Role:
    """The role of token ``value``; :class:`InvalidToken` if it is no valid token."""
    return identify(store, value).role


def require(caller: Caller, needed: runtime.Role) -> None:
    """:class:`~cairn.errors.PermissionDenied` unless ``caller`` has at least ``needed``."""
    if not allows(caller.role, needed):
        raise errors.PermissionDenied(
            f"this needs the {needed.value} role; your token has the {caller.role.value} role"
        )


def require_agent(caller: Caller, site: str) -> None:
    """:class:`~cairn.errors.PermissionDenied` unless ``caller`` is the agent of ``site``."""
    if caller.role is not runtime.Role.AGENT:
        raise errors.PermissionDenied(
            f"this needs the agent token of site '{site}'; your token has the "
            f"{caller.role.value} role"
        )
    if caller.site != site:
        raise errors.PermissionDenied(
            f"this token belongs to site '{caller.site}', not to site '{site}'"
        )


def create(
    manager: manager_mod.Manager,
    *,
    role: runtime.Role,
    description: str,
    site: str | None = None,
) -> IssuedToken:
    """A new token with ``role`` (and ``site``, for an agent token); its value is in the
    answer and nowhere else."""
    issued = draw(manager, role=role, description=description, site=site)
    manager.store.put_token(issued.token)
    return issued


def draw(
    manager: manager_mod.Manager,
    *,
    role: runtime.Role,
    description: str,
    site: str | None = None,
) -> IssuedToken:
    """A new token, not stored yet (the caller stores it, maybe with other changes)."""
    value = secrets.token_urlsafe(TOKEN_BYTES)
    token = runtime.Token(
        id=secrets.token_hex(6),
        digest=digest(value),
        role=role,
        description=description,
        created_at=manager.clock.now(),
        site=site,
    )
    return IssuedToken(token=token, value=value)


class AgentTokenRefused(errors.UsageError):
    """Agent tokens belong to a site: issue one with `cairn sites token SITE`."""


def issue(manager: manager_mod.Manager, *, role: runtime.Role, description: str) -> IssuedToken:
    """A token for a person or a program (``POST /tokens``): any role but ``agent``, whose
    tokens are bound to a site and issued by :func:`cairn.services.sites.token`."""
    if role is runtime.Role.AGENT:
        raise AgentTokenRefused(
            "agent tokens belong to a site: issue one with `cairn sites token SITE` "
            "(POST /api/v1/sites/SITE/token), which also revokes the site's previous one"
        )
    return create(manager, role=role, description=description)


def list_(manager: manager_mod.Manager) -> list[runtime.Token]:
    return sorted(manager.store.list_tokens(), key=lambda t: (t.created_at, t.id))


def get(manager: manager_mod.Manager, token_id: str) -> runtime.Token:
    for token in manager.store.list_tokens():
        if token.id == token_id:
            return token
    raise errors.NotFoundError(f"token '{token_id}' not found")


def revoke(manager: manager_mod.Manager, token_id: str) -> runtime.Token:
    """Revoke a token by id (:class:`~cairn.errors.NotFoundError` if there is none)."""
    get(manager, token_id)
    manager.store.revoke_token(token_id)
    manager.callers.forget()
    return get(manager, token_id)


def admin_token_path(data_dir: Path) -> Path:
    return data_dir / ADMIN_TOKEN_FILE


def ensure_admin_token(manager: manager_mod.Manager) -> Path:
    """The path of a file holding a valid admin token, created (mode 0600) if needed.

    An existing file whose token is still valid is kept, so restarts do not change the
    token; a missing, unknown or revoked one is replaced by a new admin token.
    """
    path = admin_token_path(Path(manager.data_dir))
    current = read_token_file(path)
    if current is not None:
        found = manager.store.find_token(digest(current))
        if found is not None and not found.revoked and found.role is runtime.Role.ADMIN:
            return path
    issued = create(manager, role=runtime.Role.ADMIN, description="created by cairn up")
    write_private(path, issued.value + "\n")
    return path


def read_token_file(path: Path) -> str | None:
    """The token in ``path``, or None when the file does not exist or is empty."""
    try:
        text = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    return text or None


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` readable and writable by its owner only (0600).

    The file is created with that mode (never briefly world-readable) and replaced
    atomically, so a reader sees the old content or the new one.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
