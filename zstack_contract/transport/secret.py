"""Secrets (session uuids, password hashes) held so that no repr, traceback local or assertion message shows them."""

from __future__ import annotations

import hmac
import re
from collections.abc import Iterable
from functools import lru_cache

SESSION_PLACEHOLDER = "{sessionUuid}"
PASSWORD_HASH_PLACEHOLDER = "{passwordSha512}"

_SHA512_HEX = re.compile(r"[0-9a-fA-F]{128}")
# A secret is masked only as a whole token: never inside a longer run of letters, digits, '_' or '-'. ZStack
# secrets are 32 or 128 hex characters, so a token match cannot rewrite an ordinary word or a JSON key.
_TOKEN_CHARS = "0-9A-Za-z_-"


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


def placeholder_for(value: str) -> str:
    """What a secret reads as once masked: a SHA-512 hex is the password's hash, anything else a session."""
    return PASSWORD_HASH_PLACEHOLDER if _SHA512_HEX.fullmatch(value) else SESSION_PLACEHOLDER


def mask_text(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every exact occurrence of a secret (as a whole token, any letter case) replaced.

    Only exact secret values are masked, never the plain-text password: masking a short common word such as
    ZStack's factory password ``password`` would rewrite JSON keys and tell the reader what it was.
    """
    values = sorted({s for s in secrets if s}, key=len, reverse=True)
    lowered = text.lower()
    for value in values:
        # Every exchange is masked, thousands per run: a hex value (session uuids, the password's SHA-512) that is
        # not in the text needs no regex. Only hex: no other character folds onto [0-9a-f] under IGNORECASE.
        if _HEX.fullmatch(value) and value.lower() not in lowered:
            continue
        text = _token_pattern(value).sub(placeholder_for(value), text)
        lowered = text.lower()
    return text


_HEX = re.compile(r"[0-9a-fA-F]+")


@lru_cache(maxsize=256)
def _token_pattern(value: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![{_TOKEN_CHARS}]){re.escape(value)}(?![{_TOKEN_CHARS}])", re.IGNORECASE)
