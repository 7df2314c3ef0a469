"""Property-based tests: schemathesis generates queries from the derived OpenAPI document.

What a generated query must get back is decided by the wire oracle (``zstack_contract.oracle``) from the query
that actually goes out, not by the generation mode; every body is checked against the derived schemas. Gating
findings fail the example (hypothesis then shrinks it to a minimal reproduction); should-findings are
collected and reported once per test.
"""

from __future__ import annotations

from typing import Any

import schemathesis

from zstack_contract.generation import load_openapi, run_generated_case
from zstack_contract.judge import Judge
from zstack_contract.target import Target

schema = load_openapi()


@schema.parametrize()  # type: ignore[untyped-decorator]  # schemathesis' decorator is not annotated
def test_generated_request(case: schemathesis.Case[Any], zstack: Target, judge: Judge) -> None:
    run_generated_case(case, zstack, judge)
