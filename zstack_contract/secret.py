"""Secrets (session uuids, passwords) held so that no repr, traceback local or assertion message shows them."""

from __future__ import annotations

import hmac


class Secret:
    """A value that must never be rendered: ``repr`` and ``str`` are masked; :meth:`reveal` is explicit.

    pytest shows function arguments and locals (``-l``, ``--tb=long``) and assertion operands through
    ``repr``; keeping the raw string only inside this object keeps it out of all of them.
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and hmac.compare_digest(self._value, other._value)

    def __hash__(self) -> int:
        return hash(self._value)

    def __bool__(self) -> bool:
        return bool(self._value)
