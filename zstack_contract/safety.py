"""Keep generated inputs from pointing a management node at a real host.

A generated ``url`` parameter is passed to the image store client on the management node, which would try to
connect to whatever host it names. Every generated value therefore ends up either as the configured image
store URL (the one host the user already pointed the suite at) or under the reserved ``.invalid`` top-level
domain (RFC 6761: never resolves). The generated text is kept in the URL's path, so characters that break a
parser (non-ASCII, ``%``, quotes) still reach the server.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from urllib.parse import urlsplit

SAFE_HOST = "zstack-contract.invalid"
URL_PARAMETERS = frozenset({"url", "backupStorageUrl", "hostname", "managementIp", "ip", "exportUrl"})


def is_safe_url(value: str, configured: Iterable[str] = ()) -> bool:
    """True when ``value`` can only make the node connect to the configured store or to nothing."""
    if value in set(configured):
        return True
    try:
        host = urlsplit(value).hostname
    except ValueError:
        return False
    return host is not None and (host == "invalid" or host.endswith(".invalid"))


def safe_url(value: str, configured: str | None) -> str:
    """Rewrite a generated value so it is safe; empty and blank values stay as they are (they name no host)."""
    if not value.strip() or is_safe_url(value, [configured] if configured else []):
        return value
    # Half the values go to the configured store (varying only other parameters there), the rest nowhere.
    if configured and hashlib.sha256(value.encode("utf-8", "surrogatepass")).digest()[0] % 2 == 0:
        return configured
    return f"sftp://{SAFE_HOST}/{value}"


def make_safe_query(pairs: Iterable[tuple[str, str]], configured: dict[str, str]) -> list[tuple[str, str]]:
    """Every URL-like parameter in a query made safe; other parameters untouched."""
    out = []
    for key, value in pairs:
        name = key.split(".")[0]
        if name in URL_PARAMETERS:
            value = safe_url(value, configured.get(name))
        out.append((key, value))
    return out
