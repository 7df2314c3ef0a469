"""Run the mock from a shell: python -m zstack_contract.mock --port 8080 [--deviation NAME]..."""

from __future__ import annotations

import argparse
import sys
import threading
from collections.abc import Sequence

from zstack_contract.mock.deviations import DEVIATIONS, UnknownDeviationError
from zstack_contract.mock.server import MockZStack

PROG = "python -m zstack_contract.mock"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description="Serve a mock ZStack management node until Ctrl-C.")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: %(default)s)")
    parser.add_argument("--port", type=int, default=8080, help="port, 0 for any free one (default: %(default)s)")
    parser.add_argument(
        "--deviation",
        action="append",
        default=[],
        metavar="NAME",
        help="switch on a contract deviation; repeat for several (see --list-deviations)",
    )
    parser.add_argument("--list-deviations", action="store_true", help="print the deviation catalogue and exit")
    return parser


def _print_catalogue() -> None:
    width = max(len(name) for name in DEVIATIONS)
    for deviation in DEVIATIONS.values():
        print(f"{deviation.name:<{width}}  {deviation.level:<6}  {deviation.reached_by:<9}  {deviation.summary}")


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.list_deviations:
        _print_catalogue()
        return 0
    try:
        mock = MockZStack(args.deviation, host=args.host, port=args.port)
    except UnknownDeviationError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    try:
        mock.start()
    except OSError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 1
    try:
        # flush: whoever launched us (a test, a script) reads the URL from a pipe. The print sits inside
        # the try so a Ctrl-C that arrives just after it still shuts down cleanly.
        print(mock.url, flush=True)
        # Blocks with no timeout; Ctrl-C interrupts the wait with KeyboardInterrupt.
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        mock.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
