"""Where the suite keeps its run state on pytest's config and items (pytest's stash, no module globals)."""

from __future__ import annotations

from typing import Any

import pytest

from zstack_contract.engine.findings import CheckRecord, Finding
from zstack_contract.reporting.baseline import Baseline, BaselineEntry
from zstack_contract.reporting.results import RunResults
from zstack_contract.reporting.summary import Halt
from zstack_contract.settings import Settings
from zstack_contract.specs.contract import ApiContract
from zstack_contract.transport.target import Target

SETTINGS = pytest.StashKey[Settings]()
CATALOG = pytest.StashKey[list[ApiContract]]()
RESULTS = pytest.StashKey[RunResults]()
BASELINE = pytest.StashKey[frozenset[str]]()  # keys of accepted findings
LOADED_BASELINE = pytest.StashKey[Baseline]()
FIXED = pytest.StashKey[list[BaselineEntry]]()
CONTRACT_RUN = pytest.StashKey[bool]()  # this run writes the contract reports
TARGET = pytest.StashKey[Target]()  # the node opened in this process (closed at the end of the session)
HALT = pytest.StashKey[Halt]()  # set when the run ends without a verdict (NOT RUN / INTERRUPTED)
# Counters of the node's traffic: this process's own plus, on the xdist controller, every worker's.
TRAFFIC = pytest.StashKey[dict[str, Any]]()
OPENAPI = pytest.StashKey[Any]()  # the schemathesis schema the generated tests are built from
# Writes mode: the ledger entries after cleanup, polling totals and cleanup problems (summed over xdist workers).
WRITES = pytest.StashKey[dict[str, Any]]()
WRITES_DONE = pytest.StashKey[bool]()  # this process's session-end cleanup ran
# Per item:
RECORD = pytest.StashKey[CheckRecord]()
STOPPED = pytest.StashKey[bool]()  # generation stopped at an input-independent failure (judge.StopGenerating)
FAILURE = pytest.StashKey[CheckRecord]()  # the last failing generated example (hypothesis may run more after it)
# Non-gating findings of generated examples, each with a bounded excerpt of its evidence (never the exchange:
# a big body must not stay in memory once per item).
PENDING = pytest.StashKey[dict[str, tuple[Finding, str, dict[str, Any]]]]()
EXAMPLES = pytest.StashKey[int]()

HTML_NAME = "contract-report.html"
JUNIT_NAME = "contract-junit.xml"
RESULTS_NAME = "contract-results.json"
