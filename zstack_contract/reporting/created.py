"""What a writes-mode run created and whether it was removed: the lines of the terminal summary (the HTML table
renders the same entries).

An entry is the ledger's JSON (``{"api", "name", "uuid", "cleanedUp", "note"}``). ``cleanedUp`` True means removed
(or found gone); anything else is left behind, and says so loudly with the command that removes it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

CLEANUP_COMMAND = "python -m zstack_contract cleanup --zstack-url {url} --run-id {run_id}"


def left_behind(created: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return [entry for entry in created if entry.get("cleanedUp") is not True]


def created_lines(
    created: Iterable[Mapping[str, Any]], *, run_id: str, url: str | None, problems: Iterable[str] = ()
) -> list[str]:
    """``created N, cleaned up N`` and, for anything not cleaned up, a loud line naming it and the command.

    ``url`` None: the embedded mock, gone with the run (nothing is left on a real node).
    """
    entries = list(created)
    remaining = left_behind(entries)
    cleaned = len(entries) - len(remaining)
    lines = [f"writes: created {len(entries)} resource(s), cleaned up {cleaned} (run id {run_id})"]
    lines += [f"CLEANUP PROBLEM: {problem}" for problem in problems if problem]
    for entry in remaining:
        uuid = entry.get("uuid") or "uuid unknown"
        note = f": {entry['note']}" if entry.get("note") else ""
        lines.append(f"NOT CLEANED UP: {entry.get('api')} {entry.get('name')!r} ({uuid}){note}")
    if remaining:
        if url is None:
            lines.append("(the embedded mock stopped with the run: nothing is left on a real node)")
        else:
            lines.append(
                "remove them with: "
                + CLEANUP_COMMAND.format(url=url, run_id=run_id)
                + " (and --zstack-account/--zstack-password or --zstack-session)"
            )
    return lines
