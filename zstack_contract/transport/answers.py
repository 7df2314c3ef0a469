"""Reading the answers the suite acts on (what a Query lists, what a job made), never judging them: the rules live
in ``engine``. A body that is not the expected JSON shape reads as nothing."""

from __future__ import annotations

from typing import Any

from zstack_contract.transport.client import Exchange
from zstack_contract.transport.jobs import SUCCEEDED


def listed_items(exchange: Exchange) -> list[Any] | None:
    """The ``inventories`` list of a Query answer's JSON object, whatever its status; None when there is none."""
    is_json, body = exchange.parsed
    items = body.get("inventories") if is_json and isinstance(body, dict) else None
    return items if isinstance(items, list) else None


def succeeded_listing(exchange: Exchange) -> list[Any] | None:
    """The ``inventories`` of a Query answered 200; None for any other answer."""
    return listed_items(exchange) if exchange.status == SUCCEEDED else None


def result_inventory(final: Exchange | None) -> dict[str, Any] | None:
    """The ``inventory`` object of a 200 result (a job's final answer); None for any other answer."""
    if final is None or final.status != SUCCEEDED:
        return None
    is_json, body = final.parsed
    inventory = body.get("inventory") if is_json and isinstance(body, dict) else None
    return inventory if isinstance(inventory, dict) else None


def error_code(exchange: Exchange) -> str | None:
    """The ZStack error code an answer carries (wrapped ``{"error": {...}}`` or a bare envelope), if any."""
    is_json, body = exchange.parsed
    if is_json and isinstance(body, dict):
        error = body.get("error", body)
        if isinstance(error, dict) and isinstance(error.get("code"), str):
            return str(error["code"])
    return None
