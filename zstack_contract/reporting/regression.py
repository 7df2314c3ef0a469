"""Compare two contract runs: which findings are new, which are fixed, and which tests changed outcome.

Input is two ``contract-results.json`` files (``RunResults.to_json``). A finding is identified across runs by
``Finding.key`` (api, case, rule, path), never by its values: ``actual`` legitimately varies run to run.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from zstack_contract.engine.findings import Level, finding_key
from zstack_contract.reporting.results import load_results
from zstack_contract.reporting.summary import INTERRUPTED, NOT_RUN
from zstack_contract.reporting.templates import render

DEFAULT_HTML = Path("reports/regression-report.html")
TITLE = "ZStack contract regression report"

EXIT_OK = 0
EXIT_NEW_MUST_FAILURE = 1
EXIT_BAD_INPUT = 2

# Identity fields must be present; the values (expected, actual, note) are only shown, so they may be absent.
_FINDING_REQUIRED = ("api", "rule", "level", "path")
_RECORD_REQUIRED = ("test", "outcome")
# A finding can vanish without being fixed: its test did not run, or stopped at another failure first
# (hypothesis ends a property test at its first failing example). Such fixes carry a caveat.
_NOT_RUN = frozenset({None, "skipped"})
CAVEAT_NOT_RUN = "its test did not run in the after-run"
CAVEAT_MASKED = "its test failed in the after-run on other findings, which may hide this one"

# Verdicts of a run that did not run its tests to the end (summary.Summary.verdict). Its findings are missing,
# not fixed: a diff against it would report every one of them fixed and exit 0.
INCOMPLETE_VERDICTS = frozenset({NOT_RUN, INTERRUPTED})

_META_ROWS: tuple[tuple[str, str], ...] = (
    ("Verdict", "verdict"),
    ("Target", "target"),
    ("ZStack version", "version"),
    ("Suite version", "suite"),
    ("Level", "level"),
    ("Seed", "seed"),
    ("Deviations (mock)", "deviations"),
    ("Schema digests", "schemas"),
    ("Started", "started"),
)


@dataclass(frozen=True)
class Occurrence:
    """One finding key as one run saw it; ``tests`` are every node id that reported it."""

    api: str
    family: str
    case: str
    rule: str
    level: str
    path: str
    expected: str
    actual: str
    note: str
    tests: tuple[str, ...]
    gating: bool

    @property
    def key(self) -> str:
        return finding_key(self.api, self.case, self.rule, self.path)

    @property
    def is_must(self) -> bool:
        return self.level == Level.MUST.value

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "api": self.api,
            "family": self.family,
            "case": self.case,
            "rule": self.rule,
            "level": self.level,
            "path": self.path,
            "expected": self.expected,
            "actual": self.actual,
            "note": self.note,
            "tests": list(self.tests),
            "gating": self.gating,
        }


@dataclass(frozen=True)
class OutcomeChange:
    """A test whose outcome differs; ``None`` on one side means the test exists only in the other run."""

    test: str
    api: str
    family: str
    before: str | None
    after: str | None

    @property
    def kind(self) -> str:
        if self.before is None:
            return "added"
        if self.after is None:
            return "removed"
        return "changed"

    def to_json(self) -> dict[str, Any]:
        return {
            "test": self.test,
            "api": self.api,
            "family": self.family,
            "before": self.before,
            "after": self.after,
            "kind": self.kind,
        }


@dataclass
class Counts:
    new_must: int = 0
    new_other: int = 0
    fixed: int = 0
    unchanged: int = 0

    def to_json(self) -> dict[str, int]:
        return {
            "newMust": self.new_must,
            "newOther": self.new_other,
            "fixed": self.fixed,
            "unchanged": self.unchanged,
        }


@dataclass(frozen=True)
class RunDiff:
    new: tuple[Occurrence, ...]  # after's values
    fixed: tuple[Occurrence, ...]  # before's values
    unchanged: tuple[Occurrence, ...]  # after's values
    outcome_changes: tuple[OutcomeChange, ...]
    after_strict: bool
    fix_caveats: Mapping[str, str] = field(default_factory=dict)  # fixed key -> why it may not really be fixed

    @property
    def new_must_failures(self) -> tuple[Occurrence, ...]:
        return tuple(o for o in self.new if o.is_must)

    @property
    def new_gating(self) -> tuple[Occurrence, ...]:
        return tuple(o for o in self.new if o.gating)

    def by_api(self) -> dict[str, Counts]:
        return self._count(lambda o: o.api)

    def by_family(self) -> dict[str, Counts]:
        return self._count(lambda o: o.family)

    def _count(self, group: Callable[[Occurrence], str]) -> dict[str, Counts]:
        counts: dict[str, Counts] = {}
        for o in self.new:
            c = counts.setdefault(group(o), Counts())
            if o.is_must:
                c.new_must += 1
            else:
                c.new_other += 1
        for o in self.fixed:
            counts.setdefault(group(o), Counts()).fixed += 1
        for o in self.unchanged:
            counts.setdefault(group(o), Counts()).unchanged += 1
        return dict(sorted(counts.items()))

    def summary(self) -> str:
        must = len(self.new_must_failures)
        parts = [_plural(must, "new must failure")]
        other = len(self.new) - must
        if other:
            parts.append(_plural(other, "other new finding"))
        parts += [f"{len(self.fixed)} fixed", f"{len(self.unchanged)} unchanged"]
        return ", ".join(parts)

    def to_json(self) -> dict[str, Any]:
        return {
            "summary": self.summary(),
            "afterStrict": self.after_strict,
            "newMustFailures": [o.key for o in self.new_must_failures],
            "new": [o.to_json() for o in self.new],
            "fixed": [o.to_json() | {"caveat": self.fix_caveats.get(o.key)} for o in self.fixed],
            "unchanged": [o.to_json() for o in self.unchanged],
            "outcomeChanges": [c.to_json() for c in self.outcome_changes],
            "byApi": {k: v.to_json() for k, v in self.by_api().items()},
            "byFamily": {k: v.to_json() for k, v in self.by_family().items()},
        }


def _plural(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


# ---------------------------------------------------------------------------------------------------------------
# Input checks: results files are hand-copied between machines, so a truncated or foreign file must end in one
# clear message rather than a KeyError deep in the diff.


def check_results(run: object, label: str) -> None:
    """Raise ValueError naming ``label`` and the place when ``run`` lacks what a diff reads."""
    if not isinstance(run, Mapping):
        raise ValueError(f"{label}: not a results file: the top level is not a JSON object")
    meta = run.get("meta", {})
    if not isinstance(meta, Mapping):
        raise ValueError(f"{label}: 'meta' is not an object")
    verdict = meta.get("verdict")
    if isinstance(verdict, str) and verdict in INCOMPLETE_VERDICTS:
        reason = " ".join(str(meta.get("reason") or "").split())  # one line: the CLI prints one message
        raise ValueError(
            f"{label}: the run did not complete ({verdict}{f': {reason}' if reason else ''}); a diff needs two "
            "completed runs, else the findings it never reached show as fixed or new"
        )
    records = run.get("records")
    if not isinstance(records, list):
        raise ValueError(f"{label}: 'records' is missing or not a list")
    for i, record in enumerate(records):
        _check_record(record, f"{label}: records[{i}]")


def _check_record(record: object, where: str) -> None:
    findings = _check_fields(record, _RECORD_REQUIRED, where).get("findings", [])
    if not isinstance(findings, list):
        raise ValueError(f"{where}: 'findings' is not a list")
    for j, finding in enumerate(findings):
        _check_fields(finding, _FINDING_REQUIRED, f"{where}.findings[{j}]")


def _check_fields(item: object, required: Iterable[str], where: str) -> Mapping[str, Any]:
    if not isinstance(item, Mapping):
        raise ValueError(f"{where}: not an object")
    missing = [name for name in required if not isinstance(item.get(name), str)]
    if missing:
        raise ValueError(f"{where}: missing or non-text {', '.join(repr(m) for m in missing)}")
    return item


# ---------------------------------------------------------------------------------------------------------------
# Diff


def is_strict(meta: Mapping[str, Any]) -> bool:
    return meta.get("level") == "strict"


def is_gating(level: str, *, strict: bool) -> bool:
    """Mirrors ``verdict.decide``: must always gates, should only in a strict run, doc never."""
    return level == Level.MUST.value or (strict and level == Level.SHOULD.value)


def diff_runs(before: dict[str, Any], after: dict[str, Any]) -> RunDiff:
    check_results(before, "before")
    check_results(after, "after")
    # Gating is judged by the after-run's mode for every row, so one report applies one rule throughout.
    strict = is_strict(after.get("meta", {}))
    old = _occurrences(before["records"], strict=strict)
    cur = _occurrences(after["records"], strict=strict)
    after_outcomes = {r["test"]: r["outcome"] for r in after["records"]}
    fixed = tuple(old[k] for k in sorted(old.keys() - cur.keys()))
    return RunDiff(
        new=tuple(cur[k] for k in sorted(cur.keys() - old.keys())),
        fixed=fixed,
        unchanged=tuple(cur[k] for k in sorted(cur.keys() & old.keys())),
        outcome_changes=_outcome_changes(before["records"], after["records"]),
        after_strict=strict,
        fix_caveats={o.key: c for o in fixed if (c := _fix_caveat(o, after_outcomes)) is not None},
    )


def _fix_caveat(o: Occurrence, after_outcomes: Mapping[str, str]) -> str | None:
    outcomes = [after_outcomes.get(t) for t in o.tests]
    if all(out in _NOT_RUN for out in outcomes):
        return CAVEAT_NOT_RUN
    if "failed" in outcomes:
        return CAVEAT_MASKED
    return None


def _occurrences(records: Iterable[Mapping[str, Any]], *, strict: bool) -> dict[str, Occurrence]:
    # Sorted so that, when several tests report one key, the values shown are always the same test's.
    by_key: dict[str, list[tuple[Mapping[str, Any], Mapping[str, Any]]]] = {}
    for record in sorted(records, key=lambda r: str(r["test"])):
        for finding in record.get("findings", []):
            # The finding's own identity (list indices normalised), the one baselines use: a finding that moves
            # from $.infos[0].size to $.infos[2].size is the same finding.
            key = finding_key(*(str(finding.get(name, "")) for name in ("api", "case", "rule", "path")))
            by_key.setdefault(key, []).append((record, finding))
    return {key: _occurrence(pairs, strict=strict) for key, pairs in by_key.items()}


def _occurrence(pairs: Sequence[tuple[Mapping[str, Any], Mapping[str, Any]]], *, strict: bool) -> Occurrence:
    record, finding = pairs[0]
    level = str(finding["level"])
    return Occurrence(
        api=str(finding["api"]),
        family=str(record.get("family", "")),
        case=str(finding.get("case", "")),
        rule=str(finding["rule"]),
        level=level,
        path=str(finding["path"]),
        expected=str(finding.get("expected", "")),
        actual=str(finding.get("actual", "")),
        note=str(finding.get("note", "")),
        tests=tuple(sorted({str(r["test"]) for r, _ in pairs})),
        gating=is_gating(level, strict=strict),
    )


def _outcome_changes(
    before: Iterable[Mapping[str, Any]], after: Iterable[Mapping[str, Any]]
) -> tuple[OutcomeChange, ...]:
    old = {str(r["test"]): r for r in before}
    cur = {str(r["test"]): r for r in after}
    changes: list[OutcomeChange] = []
    for test in sorted(old.keys() | cur.keys()):
        b, a = old.get(test), cur.get(test)
        b_out = None if b is None else str(b["outcome"])
        a_out = None if a is None else str(a["outcome"])
        if b_out != a_out:
            either = a if a is not None else b
            assert either is not None  # test came from one of the two maps
            changes.append(OutcomeChange(test, str(either.get("api", "")), str(either.get("family", "")), b_out, a_out))
    return tuple(changes)


# ---------------------------------------------------------------------------------------------------------------
# HTML: one self-contained page (templates/regression.html.j2), no scripts, no assets, nothing that varies
# between two renders of one input. Every value is escaped by the template engine: findings carry server text.

# (header, width in % of the table)
_FINDING_COLUMNS = (
    ("API", 13),
    ("Case", 11),
    ("Rule", 10),
    ("Level", 6),
    ("JSON path", 9),
    ("Expected", 19),
    ("Actual", 14),
    ("Test", 18),
)


@dataclass(frozen=True)
class MetaRow:
    """One line of the header table; a side is ``None`` when that run did not record the field."""

    label: str
    before: tuple[str, ...] | None
    after: tuple[str, ...] | None
    differs: bool


def render_html(diff: RunDiff, before_meta: Mapping[str, Any], after_meta: Mapping[str, Any]) -> str:
    return render(
        "regression.html.j2",
        title=TITLE,
        status="bad" if diff.new_must_failures else "good",
        diff=diff,
        meta_rows=_meta_rows(before_meta, after_meta),
        columns=_FINDING_COLUMNS,
    ).rstrip("\n") + "\n"


def _meta_rows(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[MetaRow]:
    # Highlight what differs besides the start time, which always does.
    return [
        MetaRow(
            label,
            _meta_lines(before.get(name)),
            _meta_lines(after.get(name)),
            differs=name != "started" and before.get(name) != after.get(name),
        )
        for label, name in _META_ROWS
    ]


def _meta_lines(value: object) -> tuple[str, ...] | None:
    """The lines one meta value shows as (joined with line breaks), or None when it was not recorded."""
    if value is None:
        return None
    if isinstance(value, Mapping):
        return tuple(f"{k}: {v}" for k, v in sorted(value.items())) or ("none",)
    if isinstance(value, list):
        return (", ".join(str(v) for v in value) or "none",)
    return (str(value),)


# ---------------------------------------------------------------------------------------------------------------
# Text and JSON


def render_text(diff: RunDiff) -> str:
    lines = [f"ZStack contract regression: {diff.summary()}"]
    if diff.outcome_changes:
        lines.append(f"{_plural(len(diff.outcome_changes), 'test')} changed outcome")
    lines += [
        f"NEW MUST {_one_line(o.key)}  expected: {_one_line(o.expected)}  actual: {_one_line(o.actual)}"
        for o in diff.new_must_failures
    ]
    return "\n".join(lines)


def _one_line(text: str) -> str:
    # A CI log greps one failure per line; embedded newlines would split it.
    return text.replace("\r", "\\r").replace("\n", "\\n")


def diff_to_json(diff: RunDiff, before_meta: Mapping[str, Any], after_meta: Mapping[str, Any]) -> dict[str, Any]:
    # Only the header fields are copied from meta: the report never carries more of a run than it shows.
    return {
        "before": {name: before_meta.get(name) for _, name in _META_ROWS},
        "after": {name: after_meta.get(name) for _, name in _META_ROWS},
        **diff.to_json(),
    }


# ---------------------------------------------------------------------------------------------------------------
# Command line


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="zstack-contract diff",
        description="Compare two contract-results.json files: new, fixed and unchanged findings. "
        "Exit 0: no new must failure; 1: at least one; 2: bad input.",
    )
    parser.add_argument("before", type=Path, help="results of the earlier run")
    parser.add_argument("after", type=Path, help="results of the later run")
    parser.add_argument(
        "--html", type=Path, default=DEFAULT_HTML, metavar="OUT", help=f"HTML report (default: {DEFAULT_HTML})"
    )
    parser.add_argument("--json", type=Path, default=None, metavar="OUT", help="also write the diff as JSON")
    return parser


def _load(path: Path) -> dict[str, Any]:
    try:
        data = load_results(path)
    except AttributeError:
        # load_results assumes a JSON object at the top; a list or scalar trips it before it can say so.
        raise ValueError(f"{path}: not a results file: the top level is not a JSON object") from None
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path}: not a results file: not UTF-8 text ({exc.reason})") from None
    check_results(data, str(path))
    return data


def _os_message(exc: OSError) -> str:
    if exc.filename is not None and exc.strerror:
        return f"{exc.filename}: {exc.strerror}"
    return str(exc)


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def main_diff(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:
        # argparse has already printed usage; hand its code back so callers get an int, not an exception.
        return exc.code if isinstance(exc.code, int) else EXIT_BAD_INPUT
    try:
        before, after = _load(args.before), _load(args.after)
        diff = diff_runs(before, after)
        before_meta, after_meta = before.get("meta", {}), after.get("meta", {})
        _write(args.html, render_html(diff, before_meta, after_meta))
        if args.json is not None:
            payload = diff_to_json(diff, before_meta, after_meta)
            _write(args.json, json.dumps(payload, indent=2, ensure_ascii=False, sort_keys=True) + "\n")
    except OSError as exc:
        print(f"error: {_os_message(exc)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(render_text(diff))
    print(f"HTML report: {args.html}")
    if args.json is not None:
        print(f"JSON: {args.json}")
    return EXIT_NEW_MUST_FAILURE if diff.new_must_failures else EXIT_OK
