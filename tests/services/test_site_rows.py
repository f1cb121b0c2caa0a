"""Sites files (YAML and CSV) read into rows, every problem named; label edits."""

from __future__ import annotations

from pathlib import Path

import pytest

from cairn import errors
from cairn.services import ids, site_groups


def test_yaml_rows(tmp_path: Path) -> None:
    path = tmp_path / "sites.yaml"
    path.write_text(
        "sites:\n"
        "  - site: paris\n    inputs: {port: 9000}\n    labels: {Tier: edge, env: [a, b]}\n"
        "  - {site: lyon, deployment_id: web-lyon}\n"
    )
    assert site_groups.read_file(path) == [
        site_groups.SiteRow(site="paris", inputs={"port": 9000},
                            labels={"Tier": ["edge"], "env": ["a", "b"]}),
        site_groups.SiteRow(site="lyon", deployment_id="web-lyon"),
    ]  # fmt: skip


def test_csv_rows_read_values_like_dash_i(tmp_path: Path) -> None:
    path = tmp_path / "sites.csv"
    path.write_text(
        "site, deployment_id ,input.port,input.flag,input.title,label.tier\n"
        "paris,,9000,true,Hello there,edge; core\n\n"
        "lyon,web-lyon,,,,\n"
    )
    assert site_groups.read_file(path) == [
        site_groups.SiteRow(site="paris", inputs={"port": 9000, "flag": True,
                            "title": "Hello there"}, labels={"tier": ["edge", "core"]}),
        site_groups.SiteRow(site="lyon", deployment_id="web-lyon"),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "text", "words"),
    [
        ("a.yaml", "site: paris\n", "expected a list of rows"),
        ("a.yaml", "[]\n", "expected a list of rows"),
        ("a.yaml", "- {site: paris, port: 1}\n- {deployment_id: x}\n- 3\n",
         "a.yaml: row 1: unknown field port; row 2: site is missing; row 3: expected"),
        ("a.yaml", "- {site: paris, inputs: [1]}\n", "row 1: inputs must be a mapping"),
        ("a.yaml", "- {site: [\n", "a.yaml:"),
        ("a.csv", "name,port\nparis,1\n", "must name the columns, site among them"),
        ("a.csv", "site,port,input.\nparis,1,2\n", "unknown columns port, input."),
        ("a.csv", "site\n", "no rows"),
        ("a.csv", "site,deployment_id\n,x\n", "row 1: site is missing"),
    ],
)  # fmt: skip
def test_bad_files_name_every_problem(tmp_path: Path, name: str, text: str, words: str) -> None:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(errors.UsageError, match=None) as caught:
        site_groups.read_file(path)
    assert words in caught.value.message


def test_a_missing_file_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(errors.UsageError, match="cannot read the sites file"):
        site_groups.read_file(tmp_path / "none.csv")


def test_label_edits() -> None:
    current = {"env": ("prod", "eu"), "tier": ("web",)}
    edit = ids.edit_labels
    assert edit(current, add={"Env": ["x"]}, owner="it") == {
        "env": ("prod", "eu", "x"), "tier": ("web",)
    }  # fmt: skip
    assert edit(current, add={}, remove=["env=eu", "tier"], owner="it") == {"env": ("prod",)}
    assert edit(current, add={"a": ["1"]}, replace=True, owner="it") == {"a": ("1",)}
    with pytest.raises(ids.FieldError, match="it has no label 'zed'"):
        edit(current, add={}, remove=["zed"], owner="it")
    with pytest.raises(ids.FieldError, match="label 'env' has no value 'us'"):
        edit(current, add={}, remove=["env=us"], owner="it")
