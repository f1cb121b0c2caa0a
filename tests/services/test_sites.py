"""Site status from the clock, locations, and the built-in site across manager restarts."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest

from cairn.model import sites
from cairn.services import ids
from cairn.services import sites as sites_service
from cairn.services.manager import Manager

T0 = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)


def _site(name: str = "paris", last_seen: datetime.datetime | None = None) -> sites.Site:
    return sites.Site(name=name, created_at=T0, last_seen=last_seen)


def test_status_is_computed_from_the_last_poll() -> None:
    window = sites.ONLINE_WINDOW
    assert window == datetime.timedelta(seconds=45)
    assert sites.status(_site(), now=T0) is sites.SiteStatus.NEVER_SEEN
    assert sites.status(_site(last_seen=T0), now=T0 + window) is sites.SiteStatus.ONLINE
    late = T0 + window + datetime.timedelta(seconds=1)
    assert sites.status(_site(last_seen=T0), now=late) is sites.SiteStatus.OFFLINE
    assert sites.status(_site(sites.LOCAL), now=T0) is sites.SiteStatus.LOCAL


@pytest.mark.parametrize(
    ("text", "expected"),
    [("48.85,2.35", (48.85, 2.35)), (" -90 , 180 ", (-90.0, 180.0)), ("0,-180", (0.0, -180.0))],
)
def test_locations_parse(text: str, expected: tuple[float, float]) -> None:
    found = sites_service.parse_location(text)
    assert (found.latitude, found.longitude) == expected


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("48.85", "expected LAT,LONG"),
        ("1,2,3", "expected LAT,LONG"),
        ("north,east", "expected LAT,LONG"),
        ("", "expected LAT,LONG"),
        ("90.1,0", "latitude 90.1 is not between -90 and 90"),
        ("0,180.01", "longitude 180.01 is not between -180 and 180"),
        ("nan,0", "latitude nan"),
        ("0,inf", "longitude inf"),
    ],
)
def test_bad_locations_name_the_field(text: str, words: str) -> None:
    with pytest.raises(ids.FieldError, match=words) as caught:
        sites_service.parse_location(text, field="--location")
    assert caught.value.field == "--location"


def test_labels_are_lower_cased_and_deduplicated() -> None:
    assert ids.labels({"Env": ["a", "b"], "env": ["a", "c"]}) == {"env": ("a", "b", "c")}
    with pytest.raises(ids.FieldError, match="label key 'a b'"):
        ids.labels({"a b": ["x"]})


def test_local_is_ensured_once_across_restarts(tmp_path: Path) -> None:
    with Manager.open(tmp_path / "data", start_engine=False) as manager:
        (first,) = manager.store.list_sites()
    with Manager.open(tmp_path / "data", start_engine=False) as manager:
        assert manager.store.list_sites() == [first]
        assert first.name == sites.LOCAL
        assert sites_service.get(manager, sites.LOCAL).status is sites.SiteStatus.LOCAL
