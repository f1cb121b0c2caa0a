"""A group of new deployments, one per site: ``cairn groups create GROUP -b BLUEPRINT
--sites-from FILE`` (a row per site) or ``--site-filter RULE`` (every matching site).

Every row is checked before anything is created (the site exists, the deployment id is
valid and new and not another row's, labels are valid, the inputs suit the blueprint and
the secrets it reads exist), and every bad row is reported at once. Then the deployments
are created one by one through :func:`cairn.services.deployments.create`; should one fail
after all (created meanwhile by someone else), those already created are deleted again, so
a refused request leaves nothing behind.

The sites file is YAML (a list of rows, or ``{sites: [rows]}``) or CSV (``.csv``)::

    - site: paris-1                      site,deployment_id,input.port,label.tier
      deployment_id: web-paris           paris-1,web-paris,9090,edge;small
      inputs: {port: 9090}               lyon,,9091,core
      labels: {tier: [edge, small]}
"""

from __future__ import annotations

import csv
import io
import pathlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from cairn import errors
from cairn.model import filters as filter_model
from cairn.model import groups as model
from cairn.model import plan as plan_model
from cairn.services import blueprints, deployments, filters, groups, ids

if TYPE_CHECKING:
    from cairn.services import manager as manager_mod

ROW_FIELDS = ("site", "deployment_id", "inputs", "labels")


@dataclass(frozen=True, kw_only=True)
class SiteRow:
    site: str
    deployment_id: str | None = None  # default: GROUP-SITE
    inputs: Mapping[str, Any] = field(default_factory=dict)
    labels: Mapping[str, Sequence[str]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "site": self.site,
            "deployment_id": self.deployment_id,
            "inputs": dict(self.inputs),
            "labels": {k: list(v) for k, v in self.labels.items()},
        }


@dataclass(frozen=True, kw_only=True)
class Created:
    group: model.Group
    deployment_ids: list[str]


# --- reading rows -----------------------------------------------------------------------------


def read_file(path: str | pathlib.Path) -> list[SiteRow]:
    """The rows of a sites file (CSV if its name ends in ``.csv``, else YAML); a UsageError
    listing every problem, each with its row."""
    where = str(path)
    try:
        text = pathlib.Path(path).read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise errors.UsageError(f"{where}: cannot read the sites file: {exc.strerror}") from exc
    except UnicodeDecodeError:
        raise errors.UsageError(f"{where}: the sites file is not UTF-8 text") from None
    if where.lower().endswith(".csv"):
        return _from_csv(text, where=where)
    return _from_yaml(text, where=where)


def rows_from_json(data: Iterable[Any], *, where: str = "sites") -> list[SiteRow]:
    """Rows from JSON objects (the API body, a YAML file); a UsageError listing every bad
    row."""
    found: list[SiteRow] = []
    problems: list[str] = []
    for number, item in enumerate(data, start=1):
        row = _row(item)
        if isinstance(row, str):
            problems.append(f"row {number}: {row}")
        else:
            found.append(row)
    if problems:
        raise ids.FieldError(f"{where}: " + "; ".join(problems), field="sites")
    return found


def _row(item: Any) -> SiteRow | str:
    if not isinstance(item, Mapping):
        return "expected a mapping with site, and optionally deployment_id, inputs, labels"
    unknown = sorted(str(k) for k in item if k not in ROW_FIELDS)
    if unknown:
        return f"unknown field{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}"
    site, deployment_id = item.get("site"), item.get("deployment_id")
    inputs, labels = item.get("inputs") or {}, item.get("labels") or {}
    if not isinstance(site, str) or not site:
        return "site is missing"
    if deployment_id is not None and not isinstance(deployment_id, str):
        return "deployment_id must be text"
    if not isinstance(inputs, Mapping):
        return "inputs must be a mapping of input names to values"
    if not isinstance(labels, Mapping):
        return "labels must be a mapping of keys to a value or a list of values"
    return SiteRow(
        site=site,
        deployment_id=deployment_id or None,
        inputs=dict(inputs),
        labels={
            str(k): [str(x) for x in (v if isinstance(v, list) else [v]) if x is not None]
            for k, v in labels.items()
        },
    )


def _from_yaml(text: str, *, where: str) -> list[SiteRow]:
    from cairn.dsl import yamlsrc

    try:
        data = plan_model.jsonable(yamlsrc.load(text, file=where))
    except yamlsrc.YamlProblem as exc:
        mark = exc.mark
        raise errors.UsageError(f"{mark.file}:{mark.line}:{mark.col}: {exc.message}") from exc
    if isinstance(data, Mapping) and set(data) == {"sites"}:
        data = data["sites"]
    if not isinstance(data, list) or not data:
        raise errors.UsageError(f"{where}: expected a list of rows (site, deployment_id, ...)")
    try:
        return rows_from_json(data, where=where)
    except ids.FieldError as exc:
        raise errors.UsageError(exc.message) from None


def _from_csv(text: str, *, where: str) -> list[SiteRow]:
    reader = csv.DictReader(io.StringIO(text))
    columns = [c.strip() for c in reader.fieldnames or []]
    if "site" not in columns:
        raise errors.UsageError(f"{where}: the first line must name the columns, site among them")
    bad = [
        c
        for c in columns
        if c not in ("site", "deployment_id")
        and not (c.startswith(("input.", "label.")) and len(c.split(".", 1)[1]) > 0)
    ]
    if bad:
        raise errors.UsageError(
            f"{where}: unknown column{'s' if len(bad) > 1 else ''} {', '.join(bad)} "
            "(expected site, deployment_id, input.NAME, label.KEY)"
        )
    rows: list[Any] = []
    for record in reader:
        cells = {k.strip(): (v or "").strip() for k, v in record.items() if k is not None}
        if not any(cells.values()):
            continue  # a blank line
        rows.append(
            {
                "site": cells.get("site", ""),
                "deployment_id": cells.get("deployment_id") or None,
                "inputs": {
                    k[len("input.") :]: blueprints.input_value(v)
                    for k, v in cells.items()
                    if k.startswith("input.") and v
                },
                "labels": {
                    k[len("label.") :]: [x.strip() for x in v.split(";") if x.strip()]
                    for k, v in cells.items()
                    if k.startswith("label.") and v
                },
            }
        )
    if not rows:
        raise errors.UsageError(f"{where}: no rows")
    try:
        return rows_from_json(rows, where=where)
    except ids.FieldError as exc:
        raise errors.UsageError(exc.message) from None


# --- creating ---------------------------------------------------------------------------------


def rows_for_sites(
    manager: manager_mod.Manager, *, rules: Sequence[Any], filter_id: str | None = None
) -> list[SiteRow]:
    """A row (no inputs of its own) per site the rules match; FieldError naming bad rules
    or none matching."""
    parsed = filters.resolve(
        manager, rules=rules, filter_id=filter_id, kind=filter_model.Kind.SITES, field="site_filter"
    )
    if not parsed:
        raise ids.FieldError("give at least one site filter rule", field="site_filter")
    found = filters.select_sites(manager, parsed)
    if not found:
        shown = ", ".join(str(r) for r in parsed)
        raise ids.FieldError(f"no site matches {shown}", field="site_filter")
    return [SiteRow(site=view.site.name) for view in found]


def create(
    manager: manager_mod.Manager,
    *,
    group_id: str,
    blueprint_id: str,
    rows: Sequence[SiteRow],
    inputs: Mapping[str, Any] | None = None,
    description: str | None = None,
    user: str = "admin",
) -> Created:
    """One deployment of ``blueprint_id`` per row, on the row's site, with ``inputs``
    overridden by the row's own; then the group of them. Nothing is created when a row is
    bad (InputError listing every bad row), a deployment id exists (ConflictError), or the
    group id is taken (ConflictError)."""
    groups.check_id(group_id)
    if not rows:
        raise ids.FieldError("no sites given", field="sites")
    _ensure_no_group(manager, group_id)
    planned = _check_rows(manager, group_id, blueprint_id, rows, dict(inputs or {}))
    created: list[str] = []
    try:
        for deployment_id, row, merged in planned:
            deployments.create(
                manager,
                deployment_id=deployment_id,
                blueprint_id=blueprint_id,
                inputs=merged,
                labels=row.labels,
                site=row.site,
                user=user,
            )
            created.append(deployment_id)
        group = manager.store.create_group(
            model.Group(
                id=group_id,
                created_at=manager.clock.now(),
                description=description or None,
                created_by=user,
            ),
            created,
        )
    except BaseException:
        for deployment_id in created:  # none of them ran anything yet
            deployments.delete(manager, deployment_id, force=True)
        raise
    return Created(group=group, deployment_ids=created)


def _ensure_no_group(manager: manager_mod.Manager, group_id: str) -> None:
    try:
        manager.store.get_group(group_id)
    except errors.NotFoundError:
        return
    raise errors.ConflictError(f"group {group_id!r} already exists")


def _check_rows(
    manager: manager_mod.Manager,
    group_id: str,
    blueprint_id: str,
    rows: Sequence[SiteRow],
    shared: dict[str, Any],
) -> list[tuple[str, SiteRow, dict[str, Any]]]:
    """Each row's deployment id and inputs; InputError listing every bad row, then
    ConflictError naming every deployment id that exists."""
    from cairn.dsl import deployment as dsl_deployment
    from cairn.dsl import parser

    blueprint = manager.store.get_blueprint(blueprint_id)
    parsed = parser.parse_path(
        str(blueprints.main_path(manager, blueprint)), options=blueprints.parse_options()
    )
    known_sites = {site.name for site in manager.store.list_sites()}
    existing = {d.id for d in manager.store.list_deployments()}
    problems: list[str] = []
    planned: list[tuple[str, SiteRow, dict[str, Any]]] = []
    first_row: dict[str, int] = {}
    for number, row in enumerate(rows, start=1):
        deployment_id = row.deployment_id or f"{group_id}-{row.site}"
        merged = {**shared, **row.inputs}
        where = f"row {number} (site {row.site})"
        found: list[str] = []
        if row.site not in known_sites:
            found.append(f"site {row.site!r} does not exist")
        try:
            ids.check(deployment_id, what="deployment id", field="deployment_id")
            ids.labels(row.labels)
        except ids.FieldError as exc:
            found.append(exc.message)
        if deployment_id in first_row:
            found.append(
                f"deployment id {deployment_id!r} is also row {first_row[deployment_id]}'s"
            )
        first_row.setdefault(deployment_id, number)
        try:
            prepared = dsl_deployment.prepare(parsed, merged)
            deployments.check_secrets(manager, prepared.secrets)
        except errors.InputError as exc:
            found.extend(exc.problems)
        problems.extend(f"{where}: {p}" for p in found)
        planned.append((deployment_id, row, merged))
    if problems:
        raise errors.InputError(problems)
    taken = [d for d, _, _ in planned if d in existing]
    if taken:
        raise errors.ConflictError(
            f"deployment{'s' if len(taken) > 1 else ''} {', '.join(taken)} already exist"
            f"{'' if len(taken) > 1 else 's'}; nothing was created"
        )
    return planned
