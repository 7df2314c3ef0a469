"""Speed benchmark of the static pipeline: importing and deriving the doc pages, and collecting a big catalogue.

Run from the repository root::

    python -m benchmarks.catalogue [--repeat N] [--apis N] [--json PATH]

It measures, each repeated ``--repeat`` times (median, min..max):

(a) ``python -m zstack_contract import`` of the 15 published pages into a fresh folder (parse, write spec.json,
    derive every schema and openapi.json) as a subprocess, interpreter start-up included, and the same work
    in-process (``import_doc_pages`` + ``derive_all``), which is the part the project's code decides;
(b) ``pytest tests/contract --co -q --zstack-schemas <folder>`` over a synthetic catalogue of ``--apis`` APIs
    (default 200): crafted variants of the 15 pages, each with its own operation id and path prefix, imported
    and derived into a temporary folder first. pytest's own "collected in" figure is reported beside the wall.

A missed target is a result, not an error: the exit code is 0 whenever every measurement was taken, 2 when one
could not be (a failed import or a collection that did not end with "N tests collected").
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from zstack_contract.specs.derive import derive_all
from zstack_contract.specs.importer import import_doc_pages
from zstack_contract.specs.spec import dump_json

REPO_ROOT = Path(__file__).resolve().parent.parent
PAGES = REPO_ROOT / "tests" / "selftest" / "pages"
CONTRACT_TESTS = REPO_ROOT / "tests" / "contract"

IMPORT_TARGET_SECONDS = 2.0
COLLECT_TARGET_SECONDS = 5.0
SUBPROCESS_TIMEOUT_SECONDS = 300.0

_COLLECTED = re.compile(r"(\d+) tests? collected in (\d+(?:\.\d+)?)s")
# Environment that would change what the measured commands do.
_STRIPPED_ENV_PREFIXES = ("ZSTACK_", "PYTEST_ADDOPTS")


class MeasurementError(RuntimeError):
    """A measured command did not do its work; the message says which and why."""


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(_STRIPPED_ENV_PREFIXES)}


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _run(args: Sequence[str], cwd: Path, cpu: list[float] | None = None) -> tuple[float, str]:
    """Wall seconds and stdout of one command; its CPU seconds (user + system) are appended to ``cpu``.

    CPU time is reported beside the wall because the machine is shared: on a busy 2-core box the wall of a
    single-threaded run is its CPU time plus the time it waited for a core.
    """
    cpu_before = _children_cpu()
    start = time.perf_counter()
    proc = subprocess.run(
        list(args),
        cwd=cwd,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=SUBPROCESS_TIMEOUT_SECONDS,
        check=False,
    )
    elapsed = time.perf_counter() - start
    if cpu is not None:
        cpu.append(_children_cpu() - cpu_before)
    if proc.returncode != 0:
        raise MeasurementError(
            f"{' '.join(args)} exited {proc.returncode}:\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}"
        )
    return elapsed, proc.stdout


def crafted_pages(count: int, folder: Path) -> list[Path]:
    """``count`` variants of the published pages, each with its own operation id and path prefix.

    Variant ``i`` of page ``Op`` is ``OpB<i>`` served under ``/zstack/v1/b<i>/...``: distinct ids (no refused
    duplicates) and distinct paths (no APIs side by side), otherwise the page as published.
    """
    originals = sorted(PAGES.glob("*.txt"))
    out = []
    for i in range(count):
        page = originals[i % len(originals)]
        op = page.stem
        text = page.read_text(encoding="utf-8")
        text = re.sub(rf"\b{op}\b", f"{op}B{i}", text).replace("/zstack/v1/", f"/zstack/v1/b{i}/")
        path = folder / f"{op}B{i}.txt"
        path.write_text(text, encoding="utf-8")
        out.append(path)
    return out


def import_in_process(pages: Sequence[Path], schemas: Path) -> None:
    for spec in import_doc_pages(pages):
        (schemas / spec.operation_id).mkdir(parents=True, exist_ok=True)
        (schemas / spec.operation_id / "spec.json").write_text(dump_json(spec.to_json()), encoding="utf-8")
    for path, text in derive_all(schemas).items():
        path.write_text(text, encoding="utf-8")


def _stats(samples: list[float]) -> dict[str, float]:
    return {"median": statistics.median(samples), "min": min(samples), "max": max(samples)}


def _line(label: str, samples: list[float], target: float | None = None) -> str:
    s = _stats(samples)
    verdict = ""
    if target is not None:
        verdict = f"  (target <= {target:.0f} s: {'met' if s['median'] <= target else 'MISSED'})"
    return f"{label:<58} {s['median']:7.3f} s  ({s['min']:.3f}..{s['max']:.3f}){verdict}"


def _repeat(repeat: int, work: Callable[[Path], float]) -> list[float]:
    samples = []
    for _ in range(repeat):
        with tempfile.TemporaryDirectory(prefix="zc-bench-") as tmp:
            samples.append(work(Path(tmp)))
    return samples


def measure(repeat: int, apis: int) -> dict[str, Any]:
    pages = sorted(PAGES.glob("*.txt"))

    cli_cpu: list[float] = []

    def cli_import(tmp: Path) -> float:
        elapsed, _ = _run(
            [sys.executable, "-m", "zstack_contract", "--schemas", str(tmp), "import", *map(str, pages)],
            REPO_ROOT,
            cli_cpu,
        )
        if len(list(tmp.glob("*/spec.json"))) != len(pages):
            raise MeasurementError(f"the import wrote {len(list(tmp.glob('*/spec.json')))} specs, not {len(pages)}")
        return elapsed

    def in_process(tmp: Path) -> float:
        start = time.perf_counter()
        import_in_process(pages, tmp)
        return time.perf_counter() - start

    results: dict[str, Any] = {"pages": len(pages), "apis": apis, "repeat": repeat}
    results["import_cli"] = _repeat(repeat, cli_import)
    results["import_cli_cpu"] = cli_cpu
    results["import_in_process"] = _repeat(repeat, in_process)

    with tempfile.TemporaryDirectory(prefix="zc-bench-catalogue-") as tmp:
        root = Path(tmp)
        (root / "pages").mkdir()
        schemas = root / "schemas"
        start = time.perf_counter()
        import_in_process(crafted_pages(apis, root / "pages"), schemas)
        results["catalogue_import_in_process"] = [time.perf_counter() - start]
        walls, cpus, collected_in, counts = [], [], [], set()
        for _ in range(repeat):
            reports = root / "reports"
            elapsed, out = _run(
                [
                    sys.executable,
                    "-m",
                    "pytest",
                    str(CONTRACT_TESTS),
                    "--co",
                    "-q",
                    "-p",
                    "no:cacheprovider",
                    "--zstack-schemas",
                    str(schemas),
                    "--zstack-report-dir",
                    str(reports),
                ],
                REPO_ROOT,
                cpus,
            )
            match = _COLLECTED.search(out)
            if match is None:
                raise MeasurementError(f"the collection did not say how many tests it collected:\n{out[-2000:]}")
            walls.append(elapsed)
            collected_in.append(float(match.group(2)))
            counts.add(int(match.group(1)))
        results["collect_wall"] = walls
        results["collect_cpu"] = cpus
        results["collect_pytest"] = collected_in
        results["collected_tests"] = sorted(counts)
    return results


def report(results: dict[str, Any]) -> str:
    n, apis = results["pages"], results["apis"]
    return "\n".join(
        [
            f"catalogue benchmark: {results['repeat']} repetitions, median (min..max); "
            f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs",
            _line(
                f"import+derive {n} pages, CLI subprocess (start-up incl.)",
                results["import_cli"],
                IMPORT_TARGET_SECONDS,
            ),
            _line(f"import+derive {n} pages, CLI subprocess, CPU (user+sys)", results["import_cli_cpu"]),
            _line(f"import+derive {n} pages, in-process", results["import_in_process"]),
            _line(f"import+derive {apis} crafted pages, in-process (setup)", results["catalogue_import_in_process"]),
            _line(
                f"collect {apis}-API catalogue: pytest --co, wall (start-up incl.)",
                results["collect_wall"],
                COLLECT_TARGET_SECONDS,
            ),
            _line(f"collect {apis}-API catalogue: pytest --co, CPU (user+sys)", results["collect_cpu"]),
            _line(f"collect {apis}-API catalogue: pytest's 'collected in'", results["collect_pytest"]),
            f"tests collected: {', '.join(map(str, results['collected_tests']))}",
        ]
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.catalogue", description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="repetitions of each measurement (default 3)")
    parser.add_argument("--apis", type=int, default=200, help="APIs in the synthetic catalogue (default 200)")
    parser.add_argument("--json", type=Path, help="also write the raw figures to this file")
    args = parser.parse_args(argv)
    try:
        results = measure(args.repeat, args.apis)
    except (MeasurementError, subprocess.TimeoutExpired) as exc:
        print(f"benchmark failed: {exc}", file=sys.stderr)
        return 2
    print(report(results))
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
