"""Where the CLI finds its manager and token: options, profiles, the admin token file."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from cairn import errors
from cairn.services import profiles


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {"CAIRN_CONFIG_DIR": str(tmp_path / "config"), "CAIRN_DATA_DIR": str(tmp_path / "data")}


def test_defaults_use_the_local_manager_and_admin_token_file(env: dict[str, str]) -> None:
    token_file = Path(env["CAIRN_DATA_DIR"]) / "admin.token"
    token_file.parent.mkdir(parents=True)
    token_file.write_text("the-admin-token\n")
    found = profiles.resolve(manager=None, token=None, environ=env)
    assert found.manager == "http://127.0.0.1:8700"
    assert found.token == "the-admin-token"
    assert found.token_source == str(token_file)


def test_no_token_anywhere_gives_none(env: dict[str, str]) -> None:
    assert profiles.resolve(manager=None, token=None, environ=env).token is None


def test_profile_then_options_win(env: dict[str, str]) -> None:
    profiles.set_("prod", manager="https://cairn.example:8700/", token="t-prod", environ=env)
    profiles.set_("lab", manager="http://lab:8700", environ=env)
    found = profiles.resolve(manager=None, token=None, environ=env)
    assert (found.manager, found.token) == ("https://cairn.example:8700", "t-prod")
    profiles.use("lab", environ=env)
    assert profiles.resolve(manager=None, token=None, environ=env).manager == "http://lab:8700"
    given = profiles.resolve(manager="http://other:1", token="t-given", environ=env)
    assert (given.manager, given.token, given.token_source) == (
        "http://other:1",
        "t-given",
        "--token or $CAIRN_TOKEN",
    )


def test_profiles_file_is_private(env: dict[str, str]) -> None:
    profiles.set_("prod", manager="http://x:1", token="secret-token", environ=env)
    path = Path(env["CAIRN_CONFIG_DIR"]) / "profiles.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_unknown_profile_and_bad_url(env: dict[str, str]) -> None:
    with pytest.raises(errors.NotFoundError, match="profile 'nope' not found"):
        profiles.use("nope", environ=env)
    with pytest.raises(errors.UsageError, match="must start with http"):
        profiles.set_("bad", manager="ftp://x", environ=env)


def test_deleting_the_current_profile_clears_it(env: dict[str, str]) -> None:
    profiles.set_("a", manager="http://a:1", environ=env)
    profiles.delete("a", environ=env)
    assert profiles.load(env).current is None
    assert (
        profiles.resolve(manager=None, token=None, environ=env).manager == profiles.DEFAULT_MANAGER
    )
