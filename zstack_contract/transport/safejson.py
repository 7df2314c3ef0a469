"""JSON parsing that a hostile body cannot crash: nesting is measured before the (recursive) parser runs.

``json.loads`` recurses once per nesting level, and so does everything that walks the value afterwards
(JSON Schema validation, finding paths, reports). A body nested deeper than :data:`MAX_DEPTH` is therefore not
parsed at all; the caller gets a problem to report instead of a RecursionError.
"""

from __future__ import annotations

import json
import re
from typing import Any

# ZStack bodies nest a handful of levels (an inventory list inside a reply, an error's cause chain). jsonschema
# spends about four frames per level of the error schema's recursive 'cause' (measured: a 64-level chain
# validates with the recursion limit at 300, not at 200), so 256 levels would need the whole default limit of
# 1000; 64 leaves ample room for ZStack and for pytest's own frames.
MAX_DEPTH = 64

# Strings are matched whole, so brackets inside them do not count; the unrolled form never backtracks.
_TOKENS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]', re.DOTALL)


def nesting_depth(text: str, limit: int = MAX_DEPTH) -> int:
    """The deepest bracket nesting in ``text``, counted without recursion; stops counting past ``limit``."""
    depth = deepest = 0
    for match in _TOKENS.finditer(text):
        token = match.group()
        if token in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > limit:
                    return deepest
        elif token in "]}":
            depth -= 1
    return deepest


def loads(text: str, max_depth: int = MAX_DEPTH) -> tuple[bool, Any, str | None]:
    """``(is JSON, value, problem)``: a body that is not JSON is ``(False, None, None)``, not a problem.

    ``problem`` says why the body could not be judged at all (nested deeper than ``max_depth``).
    """
    if nesting_depth(text, max_depth) > max_depth:
        return False, None, f"JSON nested deeper than {max_depth} levels"
    try:
        return True, json.loads(text), None
    except ValueError:
        return False, None, None
    except RecursionError:  # unreachable after the depth check; kept so a parser change cannot crash a run
        return False, None, f"JSON nested deeper than {max_depth} levels"


def excerpt(value: Any, limit: int = 300) -> str:
    """A short, single-line rendering of a JSON value for messages."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, sort_keys=True)
    text = text.replace("\n", "\\n")
    return text if len(text) <= limit else text[: limit - 3] + "..."
