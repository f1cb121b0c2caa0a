"""Deployment inputs from ``-i`` values, and parser options from the environment."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from cairn import errors
from cairn.services import blueprints

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("port=8080", {"port": 8080}),
        ("ratio=0.5", {"ratio": 0.5}),
        ("debug=true", {"debug": True}),
        ("nothing=null", {"nothing": None}),
        ("name=web", {"name": "web"}),
        ("tags=[a, b]", {"tags": ["a", "b"]}),
        ("tags=[a,b]", {"tags": ["a", "b"]}),
        ("limits={cpu: 2, mem: 512}", {"limits": {"cpu": 2, "mem": 512}}),
        ("a=1;b=2", {"a": 1, "b": 2}),
        (" a = 1 ; b = two ;", {"a": 1, "b": "two"}),
        ("empty=", {"empty": ""}),
        ("greeting=hello world", {"greeting": "hello world"}),
        ("url=http://example.test:80/p?q=1", {"url": "http://example.test:80/p?q=1"}),
        ("note=a: b", {"note": "a: b"}),
        ("password=ab #c", {"password": "ab #c"}),
        ("star=*x", {"star": "*x"}),
        ("quoted='8080'", {"quoted": "8080"}),
        ("day=2024-01-02", {"day": "2024-01-02"}),
        ('{"port": 80, "tags": ["x"]}', {"port": 80, "tags": ["x"]}),
        ("{port: 80}", {"port": 80}),
    ],
)
def test_inline_values_are_read_as_yaml_scalars_or_flow(
    spec: str, expected: dict[str, object]
) -> None:
    assert blueprints.load_inputs([spec]) == expected


def test_later_values_win() -> None:
    assert blueprints.load_inputs(["a=1;b=1", "b=2", '{"c": 3}']) == {"a": 1, "b": 2, "c": 3}


def test_no_specs_give_no_inputs() -> None:
    assert blueprints.load_inputs([]) == {}


def test_the_example_inputs_file() -> None:
    inputs = blueprints.load_inputs([str(REPO / "examples/hello-web/inputs.yaml")])
    assert inputs == {"port": 8181, "site_title": "Hello from staging", "stage": "staging"}


def test_yaml_and_json_files(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("port: 80\nnested:\n  list: [1, 2]\n")
    (tmp_path / "b.json").write_text('{"port": 81, "name": "web"}')
    inputs = blueprints.load_inputs([str(tmp_path / "a.yaml"), str(tmp_path / "b.json")])
    assert inputs == {"port": 81, "nested": {"list": [1, 2]}, "name": "web"}
    assert type(inputs["nested"]) is dict  # plain data, no YAML position wrappers


def test_an_empty_file_gives_no_inputs(tmp_path: Path) -> None:
    (tmp_path / "empty.yaml").write_text("# nothing here\n")
    assert blueprints.load_inputs([str(tmp_path / "empty.yaml")]) == {}


def test_a_directory_reads_its_yaml_and_json_files_in_name_order(tmp_path: Path) -> None:
    (tmp_path / "1-base.yaml").write_text("port: 80\nname: a\n")
    (tmp_path / "2-override.yml").write_text("port: 81\n")
    (tmp_path / "3-extra.json").write_text('{"extra": true}')
    (tmp_path / "README.txt").write_text("not inputs: [")
    inputs = blueprints.load_inputs([str(tmp_path)])
    assert inputs == {"port": 81, "name": "a", "extra": True}


def test_a_wildcard_reads_every_match(tmp_path: Path) -> None:
    (tmp_path / "a-inputs.yaml").write_text("a: 1\n")
    (tmp_path / "b-inputs.yaml").write_text("b: 2\n")
    (tmp_path / "other.yaml").write_text("c: 3\n")
    assert blueprints.load_inputs([str(tmp_path / "*-inputs.yaml")]) == {"a": 1, "b": 2}


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("garbage", "expected NAME=VALUE"),
        ("=5", "is not NAME=VALUE"),
        ("a=1;junk", "'junk' is not NAME=VALUE"),
        ("missing-inputs.yaml", "no such inputs file"),
        ("no/such/dir/*.yaml", "no file matches"),
        ("{a: [1, 2}", "invalid inputs"),
        ("{a: 1, a: 2}", "duplicate key"),
    ],
)
def test_bad_values_are_usage_errors(spec: str, message: str) -> None:
    with pytest.raises(errors.UsageError) as caught:
        blueprints.load_inputs([spec])
    assert message in caught.value.message
    assert "\n" not in caught.value.message


def test_a_file_that_is_not_a_mapping(tmp_path: Path) -> None:
    (tmp_path / "list.yaml").write_text("- a\n- b\n")
    with pytest.raises(errors.UsageError, match="must be a mapping of names to values, not a list"):
        blueprints.load_inputs([str(tmp_path / "list.yaml")])


def test_a_file_with_bad_yaml_is_located(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("port: 80\nname: [unclosed\n")
    with pytest.raises(errors.UsageError) as caught:
        blueprints.load_inputs([str(path)])
    assert caught.value.message.startswith(f"{path}:")
    line = int(caught.value.message.split(":")[1])
    assert line >= 2


def test_a_file_with_duplicate_names_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "dup.yaml"
    path.write_text("port: 80\nport: 81\n")
    with pytest.raises(errors.UsageError, match=r"dup\.yaml:2:1: .*duplicate key 'port'"):
        blueprints.load_inputs([str(path)])


def test_a_file_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("name: caf\xe9\n".encode("latin-1"))
    with pytest.raises(errors.UsageError, match="not valid UTF-8"):
        blueprints.load_inputs([str(path)])


def test_names_must_be_strings(tmp_path: Path) -> None:
    path = tmp_path / "keys.yaml"
    path.write_text("1: one\n")
    with pytest.raises(errors.UsageError, match="input name 1 is not a string"):
        blueprints.load_inputs([str(path)])


def test_plugin_paths_come_from_options_then_the_environment(tmp_path: Path) -> None:
    first, second, third = (tmp_path / n for n in ("first", "second", "third"))
    for folder in (first, second, third):
        folder.mkdir()
    environ = {
        blueprints.PLUGIN_PATH_ENV: os.pathsep.join(
            [str(second), "", str(tmp_path / "missing"), str(first), str(third)]
        )
    }
    options = blueprints.parse_options(plugin_paths=[str(first)], environ=environ)
    assert options.plugin_paths == (str(first), str(second), str(third))


def test_plugin_paths_are_made_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "plugins").mkdir()
    monkeypatch.chdir(tmp_path)
    options = blueprints.parse_options(plugin_paths=["plugins"], environ={})
    assert options.plugin_paths == (str(tmp_path / "plugins"),)


def test_a_missing_plugin_path_option_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(errors.UsageError, match=r"--plugin-path .*: no such directory"):
        blueprints.parse_options(plugin_paths=[str(tmp_path / "nope")], environ={})


def test_no_plugin_paths_by_default() -> None:
    assert blueprints.parse_options(environ={}).plugin_paths == ()


def test_a_directory_stands_for_its_blueprint_yaml(tmp_path: Path) -> None:
    (tmp_path / "blueprint.yaml").write_text("tosca_definitions_version: cloudify_dsl_1_4\n")
    assert blueprints.blueprint_file(str(tmp_path)) == str(tmp_path / "blueprint.yaml")


def test_a_directory_without_blueprint_yaml_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(errors.UsageError, match=r"a directory without blueprint\.yaml"):
        blueprints.blueprint_file(str(tmp_path))


def test_a_missing_blueprint_is_not_found(tmp_path: Path) -> None:
    with pytest.raises(errors.NotFoundError, match="no such file"):
        blueprints.blueprint_file(str(tmp_path / "nope.yaml"))
