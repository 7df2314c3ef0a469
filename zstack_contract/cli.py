"""Command line: import doc pages, derive schemas, check that committed files are in sync, diff two runs, and
remove what crashed writes-mode runs left behind."""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from zstack_contract.settings import OPTIONS, SettingsError, resolve
from zstack_contract.specs.contract import ContractLoadError, load_catalog
from zstack_contract.specs.derive import DeriveError, OverlayError, stale_files
from zstack_contract.specs.importer import DocPageError, import_doc_pages
from zstack_contract.specs.spec import dump_json

DEFAULT_SCHEMAS = Path("schemas")
CONFIG_ERROR = 4
# The suite's options the cleanup command takes (same flags, same environment fallbacks).
CLEANUP_OPTIONS = (
    "zstack_url",
    "zstack_account",
    "zstack_password",
    "zstack_session",
    "zstack_schemas",
    "zstack_timeout",
    "zstack_job_timeout",
    "zstack_rate_limit",
)


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


def cmd_cleanup(args: argparse.Namespace, env: Mapping[str, str] | None = None) -> int:
    """List (and unless --dry-run remove) every resource named zstack-contract-* (zstack-contract-<ID>-* with
    --run-id): one line each; exit 0 when all are listed/removed, 1 when some are not, 4 on a configuration error."""
    from zstack_contract.transport.cleanup import CleanupError, creatables, find_leftovers, remove
    from zstack_contract.transport.client import TargetUnreachableError, UnsafeRequestError
    from zstack_contract.transport.ledger import RESOURCE_PREFIX, run_prefix
    from zstack_contract.transport.target import TargetError, open_target

    env = os.environ if env is None else env
    values: dict[str, Any] = {name: getattr(args, name, None) for name in CLEANUP_OPTIONS}
    values["zstack_run_id"] = args.run_id

    def cli(name: str) -> Any:
        return values.get(name, [] if name in ("zstack_param", "zstack_mock_deviation") else None)

    try:
        # Only the environment variables of the options cleanup takes: a suite-only one (a mock deviation, a
        # malformed --zstack-param) must not stop a cleanup.
        taken = {s.env for s in OPTIONS if s.name in CLEANUP_OPTIONS} | {"ZSTACK_RUN_ID"}
        settings = resolve(cli, {k: v for k, v in env.items() if k in taken}, rootdir=Path.cwd())
        if settings.url is None:
            raise SettingsError(
                "cleanup needs the management node: pass --zstack-url URL (or ZSTACK_URL), e.g. http://mn:8080"
            )
        scoped = args.run_id is not None or bool(env.get("ZSTACK_RUN_ID"))
        prefix = run_prefix(settings.run_id) if scoped else RESOURCE_PREFIX
        kinds = creatables(load_catalog(settings.schemas_dir))
    except (SettingsError, ContractLoadError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return CONFIG_ERROR
    if not kinds:
        print(f"error: {settings.schemas_dir} has no Create<X>/Query<X>/Delete<X> APIs to clean up", file=sys.stderr)
        return CONFIG_ERROR
    try:
        # Deletes are the point of this command; it sends nothing state-changing but Delete<X> of listed names.
        target = open_target(dataclasses.replace(settings, allow_writes=True))
    except TargetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return CONFIG_ERROR
    failed = found = removed = 0
    try:
        print(f"{'would remove' if args.dry_run else 'removing'} every resource named {prefix}* on {target.url}")
        for kind in kinds:
            try:
                leftovers = find_leftovers(target.client, kind, prefix)
            except (CleanupError, TargetUnreachableError, UnsafeRequestError) as exc:
                print(f"{kind.kind}: could not list: {target.client.mask(str(exc))}")
                failed += 1
                continue
            for left in leftovers:
                found += 1
                if args.dry_run:
                    status = "found (dry run: not removed)"
                else:
                    try:
                        ok, note = remove(target.client, kind, left.uuid, job_timeout=settings.job_timeout)
                    except (TargetUnreachableError, UnsafeRequestError, ValueError) as exc:
                        ok, note = False, f"not removed: {exc}"
                    status = "removed" if ok else f"FAILED: {note}"
                    removed += ok
                    failed += not ok
                print(target.client.mask(f"{kind.kind}\t{left.name}\t{left.uuid}\t{status}"))
    finally:
        target.close()
    print(f"{found} found, {removed} removed, {failed} failed" + (" (dry run)" if args.dry_run else ""))
    return 1 if failed else 0


def _add_cleanup(sub: Any) -> None:
    p = sub.add_parser(
        "cleanup",
        help="list and remove resources left by crashed writes-mode runs (names zstack-contract-*)",
        description="List, and unless --dry-run remove, every resource whose name starts with zstack-contract- "
        "(zstack-contract-<ID>- with --run-id). Exit 0: all listed/removed; 1: some could not be; 4: configuration "
        "error. Credentials as the suite takes them (flags or ZSTACK_* environment variables).",
    )
    spec = {s.name: s for s in OPTIONS}
    for name in CLEANUP_OPTIONS:
        option = spec[name]
        # The suite's help, except where cleanup differs: it needs a URL (there is no mock to clean up).
        text = {
            "zstack_url": "management node base URL, e.g. http://mn:8080 (required)",
            "zstack_schemas": "schema folder naming the Create/Query/Delete APIs (default: ./schemas)",
        }.get(name, option.help)
        help_text = f"{text} [env {option.env}]"
        p.add_argument(option.flag, dest=name, default=None, metavar=option.metavar, help=help_text)
    p.add_argument(
        "--run-id", dest="run_id", default=None, metavar="ID", help="only this run's resources [env ZSTACK_RUN_ID]"
    )
    p.add_argument("--dry-run", action="store_true", help="list only; remove nothing")
    p.set_defaults(func=cmd_cleanup)


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
    _add_cleanup(sub)
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
