"""How far Cairn agrees with Cloudify's parser on the corpus: one line per blueprint.

    .venv/bin/python tests/dsl/corpus_report.py [--only SUBSTR] [--jobs N] [--verbose]

Each line: status, expected/actual verdict, seconds, blueprint, and either the first problem
(verdict mismatch) or the difference categories (plan mismatch). ``--verbose`` adds the first
differing JSON paths with both values. The summary groups mismatches by category, with
how many blueprints each touches and an example. Status words:

    ok       verdict and plan agree (KNOWN: agrees once KNOWN_DIFFERENCES are excused;
             STALE: agrees, but its KNOWN_DIFFERENCES entry excuses nothing)
    DIFF     verdicts agree (ok) but plans differ
    VERDICT  Cairn says error where the corpus expects ok, or the reverse
    CRASH    Cairn raised something other than BlueprintError
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import multiprocessing
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import corpus
import test_corpus_oracle

_STATE: dict[str, object] = {}


def _check(entry: corpus.Entry) -> corpus.Judgement:
    root = _STATE["corpus"]
    overlay = _STATE["overlay"]
    assert isinstance(root, Path) and isinstance(overlay, corpus.Overlay)
    known = test_corpus_oracle.KNOWN_DIFFERENCES.get(entry.path)
    return corpus.check_blueprint(root, entry, overlay, known)


def _status(j: corpus.Judgement) -> str:
    if j.outcome.verdict == "crash":
        return "CRASH"
    if not j.verdict_agrees:
        return "VERDICT"
    if j.unexplained:
        return "DIFF"
    if j.stale:
        return "STALE"
    return "KNOWN" if j.excused else "ok"


def _categories(j: corpus.Judgement) -> collections.Counter[str]:
    return collections.Counter(corpus.category(d.path) for d in j.unexplained)


def _oracle_error(j: corpus.Judgement) -> str:
    root = _STATE["corpus"]
    assert isinstance(root, Path)
    result = corpus.oracle_result(root, j.entry.path)
    error = result.get("error") or result.get("oracle", {}).get("strict_validate_version") or {}
    message = " ".join(str(error.get("message", "")).split())
    return f"oracle: {error.get('err_code', '?')} {message[:220]}"


def _line(j: corpus.Judgement, *, verbose: int, errors: bool = False) -> str:
    status = _status(j)
    head = (
        f"{status:7} {j.entry.cairn_expected:>5}/{j.outcome.verdict:<5} "
        f"{j.outcome.seconds:5.2f}s {j.entry.path}"
    )
    lines = [head]
    if status == "CRASH":
        last = j.outcome.problems[0].strip().splitlines()
        lines.append(f"    {last[-1] if last else '?'}")
        if verbose:
            lines.extend("    " + x for x in last[-12:-1])
    elif status == "VERDICT" or (errors and j.entry.cairn_expected == "error"):
        if j.entry.cairn_expected == "error":
            lines.append(f"    {_oracle_error(j)}")
        for problem in j.outcome.problems[: 1 + 4 * verbose]:
            lines.append(f"    cairn: {problem}")
    elif status == "DIFF":
        cats = _categories(j).most_common(4)
        lines[0] += "  [" + ", ".join(f"{c} x{n}" for c, n in cats) + "]"
        lines.extend(f"    {d.render()}" for d in j.unexplained[: 6 * verbose])
    elif status == "STALE":
        lines.append("    its KNOWN_DIFFERENCES entry excuses nothing: delete it")
    return "\n".join(lines)


def _summary(results: list[corpus.Judgement], seconds: float) -> list[str]:
    by_status = collections.Counter(_status(j) for j in results)
    agree = by_status["ok"] + by_status["KNOWN"]
    verdicts = sum(j.verdict_agrees for j in results)
    out = [
        "",
        f"{len(results)} blueprints: {agree} agree ({by_status['KNOWN']} with known "
        f"differences), verdict agrees on {verdicts}; "
        + ", ".join(f"{k} {v}" for k, v in sorted(by_status.items()))
        + f"; {seconds:.1f}s wall, cairn {sum(j.outcome.seconds for j in results):.1f}s",
    ]
    verdict_cats: collections.Counter[str] = collections.Counter()
    examples: dict[str, str] = {}
    for j in results:
        if _status(j) in ("VERDICT", "CRASH"):
            code = j.outcome.codes[0] if j.outcome.codes else "-"
            key = f"expected {j.entry.cairn_expected}, got {j.outcome.verdict} [{code}]"
            verdict_cats[key] += 1
            examples.setdefault(key, j.entry.path)
    if verdict_cats:
        out.append("verdict mismatches:")
        out.extend(f"  {n:4}  {k}  e.g. {examples[k]}" for k, n in verdict_cats.most_common())
    plan_cats: collections.Counter[str] = collections.Counter()
    for j in results:
        for cat in _categories(j):
            plan_cats[cat] += 1
            if cat not in examples:
                first = next(d for d in j.unexplained if corpus.category(d.path) == cat)
                examples[cat] = f"{j.entry.path}: {first.render(width=140)}"
    if plan_cats:
        out.append("plan differences (blueprints affected, category, example):")
        out.extend(f"  {n:4}  {k}\n        {examples[k]}" for k, n in plan_cats.most_common())
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="SUBSTR",
        help="only blueprints whose path contains SUBSTR (repeatable)",
    )
    ap.add_argument("--jobs", "-j", type=int, default=os.cpu_count() or 1)
    ap.add_argument(
        "--verbose", "-v", action="count", default=0, help="show differing paths (-vv: more)"
    )
    ap.add_argument("--failing", action="store_true", help="print only disagreeing blueprints")
    ap.add_argument(
        "--errors",
        action="store_true",
        help="show the oracle's error and Cairn's problems"
        " for every blueprint expected to be invalid",
    )
    args = ap.parse_args(argv)
    root = corpus.root()
    if root is None:
        print("corpus not found (set CAIRN_CORPUS)", file=sys.stderr)
        return 2
    entries = [
        e for e in corpus.blueprints(root) if not args.only or any(s in e.path for s in args.only)
    ]
    overlay = corpus.Overlay(corpus=root)
    overlay.prepare(sorted({e.repo for e in entries}))
    _STATE.update(corpus=root, overlay=overlay)
    with contextlib.suppress(ImportError):  # import once here, not once per worker
        from cairn.dsl import parser, resolver  # noqa: F401
    start = time.perf_counter()
    try:
        if args.jobs > 1 and len(entries) > 1:
            with multiprocessing.get_context("fork").Pool(args.jobs) as pool:
                results = pool.map(_check, entries, chunksize=4)
        else:
            results = [_check(e) for e in entries]
    finally:
        overlay.cleanup()
    for j in results:
        if not args.failing or not j.agrees:
            print(_line(j, verbose=args.verbose, errors=args.errors))
    print("\n".join(_summary(results, time.perf_counter() - start)))
    return 0 if all(j.agrees and not j.stale for j in results) else 1


if __name__ == "__main__":
    sys.exit(main())
