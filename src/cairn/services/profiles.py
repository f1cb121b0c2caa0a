"""Where the CLI finds a manager and a token: options, environment, saved profiles.

A profile is a named manager URL with an optional token, saved in
``<config dir>/profiles.json`` (mode 0600: it may hold tokens); one of them is current.
The config dir is ``$CAIRN_CONFIG_DIR``, else the user's config directory.

The manager URL is, first that is set: ``--manager`` / ``$CAIRN_MANAGER``, the current
profile's, ``http://127.0.0.1:8700``. The token: ``--token`` / ``$CAIRN_TOKEN``, the
current profile's, the admin token that ``cairn up`` wrote in the default data directory
(``$CAIRN_DATA_DIR``, else the user's data directory).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from cairn import errors
from cairn.services import auth, ids

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8700
DEFAULT_MANAGER = f"http://{DEFAULT_HOST}:{DEFAULT_PORT}"
PROFILES_FILE = "profiles.json"
APP_NAME = "cairn"


@dataclass(frozen=True, kw_only=True)
class Profile:
    name: str
    manager: str
    token: str | None = None


@dataclass(frozen=True, kw_only=True)
class Profiles:
    current: str | None = None
    profiles: Mapping[str, Profile] = field(default_factory=dict)

    def active(self) -> Profile | None:
        return self.profiles.get(self.current) if self.current else None


@dataclass(frozen=True, kw_only=True)
class Connection:
    """Where to send requests, with which token, and where each came from."""

    manager: str
    token: str | None
    manager_source: str
    token_source: str


def data_dir(environ: Mapping[str, str] | None = None) -> Path:
    """The manager's default data directory: ``$CAIRN_DATA_DIR`` or the user's data dir."""
    env = os.environ if environ is None else environ
    given = env.get("CAIRN_DATA_DIR")
    if given:
        return Path(given).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir(APP_NAME))


def config_dir(environ: Mapping[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    given = env.get("CAIRN_CONFIG_DIR")
    if given:
        return Path(given).expanduser()
    import platformdirs

    return Path(platformdirs.user_config_dir(APP_NAME))


def load(environ: Mapping[str, str] | None = None) -> Profiles:
    path = config_dir(environ) / PROFILES_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return Profiles()
    except (OSError, ValueError) as exc:
        raise errors.UsageError(f"{path}: cannot read profiles: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("profiles", {}), dict):
        raise errors.UsageError(f"{path}: not a profiles file")
    found = {
        str(name): Profile(name=str(name), manager=str(p["manager"]), token=p.get("token"))
        for name, p in data.get("profiles", {}).items()
        if isinstance(p, dict) and isinstance(p.get("manager"), str)
    }
    current = data.get("current")
    return Profiles(current=current if current in found else None, profiles=found)


def save(profiles: Profiles, environ: Mapping[str, str] | None = None) -> Path:
    path = config_dir(environ) / PROFILES_FILE
    data = {
        "current": profiles.current,
        "profiles": {
            name: {"manager": p.manager, **({"token": p.token} if p.token else {})}
            for name, p in sorted(profiles.profiles.items())
        },
    }
    auth.write_private(path, json.dumps(data, indent=2) + "\n")
    return path


def set_(
    name: str,
    *,
    manager: str | None = None,
    token: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> Profile:
    """Create or change profile ``name``; the first profile saved becomes the current one."""
    ids.check(name, what="profile name", field="name")
    found = load(environ)
    old = found.profiles.get(name)
    url = manager or (old.manager if old else DEFAULT_MANAGER)
    profile = Profile(
        name=name, manager=check_url(url), token=token or (old.token if old else None)
    )
    save(
        Profiles(
            current=found.current or name,
            profiles={**found.profiles, name: profile},
        ),
        environ,
    )
    return profile


def use(name: str, *, environ: Mapping[str, str] | None = None) -> Profile:
    found = load(environ)
    if name not in found.profiles:
        known = ", ".join(sorted(found.profiles)) or "none yet; add one with cairn profiles set"
        raise errors.NotFoundError(f"profile '{name}' not found (profiles: {known})")
    save(Profiles(current=name, profiles=found.profiles), environ)
    return found.profiles[name]


def delete(name: str, *, environ: Mapping[str, str] | None = None) -> None:
    found = load(environ)
    if name not in found.profiles:
        raise errors.NotFoundError(f"profile '{name}' not found")
    rest = {k: v for k, v in found.profiles.items() if k != name}
    save(Profiles(current=None if found.current == name else found.current, profiles=rest), environ)


def check_url(url: str) -> str:
    if not url.startswith(("http://", "https://")) or len(url) < 8:
        raise ids.FieldError(
            f"manager URL {url!r} must start with http:// or https://", field="manager"
        )
    return url.rstrip("/")


def resolve(
    *,
    manager: str | None,
    token: str | None,
    environ: Mapping[str, str] | None = None,
) -> Connection:
    """The connection the CLI uses; ``manager`` and ``token`` are the options (or env)."""
    active = load(environ).active()
    if manager:
        url, url_source = check_url(manager), "--manager or $CAIRN_MANAGER"
    elif active is not None:
        url, url_source = active.manager, f"profile {active.name}"
    else:
        url, url_source = DEFAULT_MANAGER, "default"
    if token:
        return Connection(
            manager=url,
            token=token,
            manager_source=url_source,
            token_source="--token or $CAIRN_TOKEN",
        )
    if active is not None and active.token:
        return Connection(
            manager=url,
            token=active.token,
            manager_source=url_source,
            token_source=f"profile {active.name}",
        )
    path = auth.admin_token_path(data_dir(environ))
    return Connection(
        manager=url,
        token=auth.read_token_file(path) if _readable(path) else None,
        manager_source=url_source,
        token_source=str(path),
    )


def _readable(path: Path) -> bool:
    return os.access(path, os.R_OK)
