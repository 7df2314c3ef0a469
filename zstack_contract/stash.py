"""Where the suite keeps its run state on pytest's config and items (pytest's stash, no module globals)."""

from __future__ import annotations

import pytest

from zstack_contract.baseline import Baseline, BaselineEntry
from zstack_contract.client import Exchange
from zstack_contract.contract import ApiContract
from zstack_contract.findings import Finding
from zstack_contract.results import CheckRecord, RunResults
from zstack_contract.settings import Settings

SETTINGS = pytest.StashKey[Settings]()
CATALOG = pytest.StashKey[list[ApiContract]]()
RESULTS = pytest.StashKey[RunResults]()
BASELINE = pytest.StashKey[frozenset[str]]()  # keys of accepted findings
LOADED_BASELINE = pytest.StashKey[Baseline]()
FIXED = pytest.StashKey[list[BaselineEntry]]()
# Per item:
RECORD = pytest.StashKey[CheckRecord]()
FAILURE = pytest.StashKey[CheckRecord]()  # the last failing generated example (hypothesis may run more after it)
PENDING = pytest.StashKey[dict[str, tuple[Finding, Exchange]]]()  # non-gating findings of generated examples
EXAMPLES = pytest.StashKey[int]()

HTML_NAME = "contract-report.html"
JUNIT_NAME = "contract-junit.xml"
RESULTS_NAME = "contract-results.json"
