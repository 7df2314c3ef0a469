"""Command line: import doc pages, derive schemas, check that committed files are in sync, diff two runs."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from zstack_contract.specs.derive import DeriveError, OverlayError, stale_files
from zstack_contract.specs.importer import DocPageError, import_doc_pages
from zstack_contract.specs.spec import dump_json

DEFAULT_SCHEMAS = Path("schemas")


def _write_derived(schemas_dir: Path) -> list[Path]:
    stale = stale_files(schemas_dir)
    for path, text in stale.items():
        path.write_text(text, encoding="utf-8")
    return list(stale)


def cmd_import(args: argparse.Namespace) -> int:
    schemas_dir: Path = args.schemas
    # Read every page before writing any: two pages with one operation id are refused, never an overwrite.
    specs = import_doc_pages(args.pages)
    for page, spec in zip(args.pages, specs, strict=True):
        target = schemas_dir / spec.operation_id / "spec.json"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(dump_json(spec.to_json()), encoding="utf-8")
        print(f"imported {page} -> {target}")
    for path in _write_derived(schemas_dir):
        print(f"derived {path}")
    return 0


def cmd_derive(args: argparse.Namespace) -> int:
    written = _write_derived(args.schemas)
    for path in written:
        print(f"derived {path}")
    if not written:
        print(f"{args.schemas}: every derived file is up to date")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    stale = list(stale_files(args.schemas))
    for path in stale:
        print(f"stale: {path} differs from what its spec derives", file=sys.stderr)
    if stale:
        print("run: python -m zstack_contract derive", file=sys.stderr)
        return 1
    print(f"{args.schemas}: in sync")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m zstack_contract", description=__doc__)
    parser.add_argument("--schemas", type=Path, default=DEFAULT_SCHEMAS, help="schema folder (default: schemas)")
    sub = parser.add_subparsers(dest="command", required=True)
    p_import = sub.add_parser("import", help="import doc pages into <schemas>/<OperationId>/spec.json and derive")
    p_import.add_argument("pages", nargs="+", type=Path, help="published API pages in text form")
    p_import.set_defaults(func=cmd_import)
    sub.add_parser("derive", help="rewrite every derived schema from the committed specs").set_defaults(func=cmd_derive)
    sub.add_parser("check", help="exit 1 when a committed schema differs from what its spec derives").set_defaults(
        func=cmd_check
    )
    # Its arguments are parsed by zstack_contract.reporting.regression (handed over unparsed, --help included); listed
    # here so that the top-level --help shows it, and so that it may follow top-level options like --schemas.
    sub.add_parser(
        "diff", add_help=False, help="compare two contract-results.json files: new, fixed, unchanged (see diff --help)"
    ).set_defaults(func=None)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args, rest = parser.parse_known_args(sys.argv[1:] if argv is None else argv)
    if args.command == "diff":
        from zstack_contract.reporting.regression import main_diff

        return main_diff(rest)
    if rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    try:
        return int(args.func(args))
    except (DocPageError, DeriveError, OverlayError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
