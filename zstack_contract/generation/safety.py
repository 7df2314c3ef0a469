"""What the suite may send: no write unless asked, never a restore of a live node, no generated URL to a real host.

Three guards live here. :func:`request_refusal` is the read-only guard (lifted by --zstack-allow-writes): it
judges the request exactly as it goes on the wire (percent-decoded, dot segments and all) against an allow-list
of method + path templates, so no path parameter, server answer or encoding trick can turn it into a write.
:func:`never_live_refusal` keeps the requests that restore the management node's own data away from any node but
the embedded mock, whatever the flags. :func:`safe_url` keeps generated
``url``-like parameters pointing at the configured image store or at the reserved ``.invalid`` top-level domain
(RFC 6761: never resolves); the generated text is kept in the URL's path, so characters that break a parser
(non-ASCII, ``%``, quotes) still reach the server.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from urllib.parse import unquote

SAFE_HOST = "zstack-contract.invalid"
URL_PARAMETERS = frozenset({"url", "backupStorageUrl", "hostname", "managementIp", "ip", "exportUrl"})

API_PREFIX = "/zstack/v1/"
LOGIN_PATH = "/zstack/v1/accounts/login"
SESSIONS_PATH = "/zstack/v1/accounts/sessions/"
VERSION_PATH = "/zstack/v1/management-nodes/actions"

_SESSION_UUID = re.compile(r"[0-9a-fA-F]{32}")
_METHOD = re.compile(r"[A-Z]+")
# Raw characters no well-formed request target carries: controls, space, backslash, non-ASCII, fragment.
_BAD_RAW = re.compile(r"[^\x21-\x7e]|[\\#]")
_ENCODED_SEPARATOR = re.compile(r"%(2f|5c|25)", re.IGNORECASE)
_HOST = re.compile(r"[a-z0-9.-]+")

# RecoverDatabaseFromBackup (PUT /database-backups/actions) overwrites the management node's own database.
MANAGEMENT_NODE_DATA_ACTIONS = frozenset({"recoverDatabaseFromBackup"})
# Its path, as the segments that end a normalised request path (the part after the context path /zstack).
_RECOVER_SEGMENTS = ("v1", "database-backups", "actions")
_UNICODE_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")


def is_session_uuid(value: str) -> bool:
    """ZStack session uuids are 32 hex characters (a uuid without dashes); anything else is not used."""
    return _SESSION_UUID.fullmatch(value) is not None


_TEMPLATE_VARIABLE = re.compile(r"\{\w+\}")


def write_only_paths(apis: Iterable[tuple[str, str]]) -> tuple[re.Pattern[str], ...]:
    """The paths a GET would run a state-changing API on, from the catalogue's ``(method, path template)`` pairs.

    ZStack picks the API of a path by the method only where several APIs share it; a path that only
    state-changing APIs serve runs the API whatever the method, a GET reading its parameters from the query
    string (protocol notes §1 'Wrong HTTP method'). So a template of a non-GET API that no GET API shares
    (ZStack compares templates with their variables numbered, ``{0}``, ``{1}``) is a write, even to a GET.
    Each variable matches one path segment.
    """

    def normalised(template: str) -> str:
        count = iter(range(1000))
        return _TEMPLATE_VARIABLE.sub(lambda _: f"{{{next(count)}}}", template)

    pairs = list(apis)
    read = {normalised(path) for method, path in pairs if method in ("GET", "HEAD")}
    patterns = []
    for method, path in pairs:
        if method in ("GET", "HEAD") or normalised(path) in read:
            continue
        parts = _TEMPLATE_VARIABLE.split(path)
        patterns.append(re.compile("[^/]+".join(re.escape(part) for part in parts)))
    return tuple(patterns)


def request_refusal(
    method: str, target: str, body: str | None, write_only: Iterable[re.Pattern[str]] = ()
) -> str | None:
    """Why ``method target`` (path plus ``?query`` as sent) must not be sent read-only, or None if it may.

    Allowed: GET/HEAD under /zstack/v1/ except on ``write_only`` paths (see :func:`write_only_paths`); PUT login;
    PUT management-nodes/actions whose body's only key is getVersion; DELETE of one session by its uuid (the
    suite's own logout). Nothing else.
    """
    if not _METHOD.fullmatch(method):
        return "the method is not an upper-case token"
    path, _, query = target.partition("?")
    if _BAD_RAW.search(target):
        return "the request target has a control, space, backslash, '#' or non-ASCII character"
    if _ENCODED_SEPARATOR.search(path):
        return "the path has an encoded '/', '\\' or '%'"
    try:
        decoded = unquote(path, errors="strict")
    except UnicodeDecodeError:
        return "the path has percent-escapes that are not UTF-8"
    if _BAD_RAW.search(decoded) or "//" in decoded:
        return "the decoded path has a control, space, backslash, '#', non-ASCII character or an empty segment"
    segments = decoded.split("/")[1:]
    if not decoded.startswith("/") or any(s.split(";")[0] in (".", "..") for s in segments):
        return "the path has '.' or '..' segments"
    if method in ("GET", "HEAD"):
        if not decoded.startswith(API_PREFIX):
            return f"the path is not under {API_PREFIX}"
        # Tomcat drops ";params" from each segment before the path reaches RestServer.
        bare = "/".join(segment.split(";")[0] for segment in decoded.split("/")).rstrip("/")
        if any(pattern.fullmatch(bare) for pattern in write_only):
            return "a path only state-changing APIs serve (ZStack runs such an API whatever the method)"
        return None
    if query:
        return "a write-like method with a query string"
    if method == "PUT" and decoded == LOGIN_PATH:
        return None
    if method == "PUT" and decoded == VERSION_PATH:
        return None if _is_get_version(body) else "a PUT to management-nodes/actions that is not getVersion"
    if method == "DELETE" and decoded.startswith(SESSIONS_PATH) and is_session_uuid(decoded[len(SESSIONS_PATH) :]):
        return None
    return "not one of the suite's own session or version calls"


def never_live_refusal(method: str, target: str, body: str | None) -> str | None:
    """Why a request would restore or destroy the management node's own data, or None.

    Applied to every request to a node that is not the embedded mock, with or without --zstack-allow-writes.
    Judged on the wire and wider than the server reads it, so that no encoding picks a way past it:

    - any method on RecoverDatabaseFromBackup's path ``/zstack/v1/database-backups/actions``: ZStack does not
      check the method of a path only one API serves (protocol notes §1 'Wrong HTTP method'), so a GET there
      would reach the restore too. The path is compared after percent-decoding until nothing changes, with
      ``;params`` dropped (Tomcat), ``\\`` read as ``/``, empty and ``.`` segments dropped, ``..`` resolved, in
      lower case, with or without a trailing slash and whatever comes before ``/v1/`` (a proxy prefix);
    - a body whose top-level key names such an action (the key picks the action of a shared PUT path); a body
      that is not strict JSON (Gson reads lenient JSON: unquoted keys, single quotes) is refused when it
      mentions the action anywhere, ``\\u`` escapes decoded, in any case.
    """
    if _normalised_segments(re.split(r"[?#]", target, maxsplit=1)[0])[-3:] == list(_RECOVER_SEGMENTS):
        return (
            f"{method} on RecoverDatabaseFromBackup's path /zstack/v1/database-backups/actions, which restores the "
            "management node's database: it runs only against the embedded mock"
        )
    action = _data_action(body)
    if action is not None:
        return (
            f"the body names {action}, which restores the management node's database: it runs only against the "
            "embedded mock"
        )
    return None


def _normalised_segments(path: str) -> list[str]:
    for _ in range(8):  # %252F → %2F → /: decode until stable (a server or proxy may decode more than once)
        decoded = unquote(path)
        if decoded == path:
            break
        path = decoded
    out: list[str] = []
    for segment in path.replace("\\", "/").split("/"):
        segment = segment.split(";", 1)[0].strip().lower()
        if segment in ("", "."):
            continue
        if segment == "..":
            if out:
                out.pop()
            continue
        out.append(segment)
    return out


class _Pairs(list[tuple[str, object]]):
    """A JSON object's (key, value) pairs in order, duplicates kept (json.loads' object_pairs_hook)."""


def _data_action(body: str | None) -> str | None:
    if not body:
        return None
    actions = {a.lower(): a for a in MANAGEMENT_NODE_DATA_ACTIONS}
    try:
        value = json.loads(body, object_pairs_hook=_Pairs)  # every key, duplicates included
    except (ValueError, RecursionError):
        text = _UNICODE_ESCAPE.sub(lambda m: chr(int(m[1], 16)), body).lower()
        return next((name for low, name in actions.items() if low in text), None)
    if not isinstance(value, _Pairs):
        return None
    for key, _ in value:
        if key.lower() in actions:
            return actions[key.lower()]
    return None


def _is_get_version(body: str | None) -> bool:
    try:
        value = json.loads(body or "")
    except (ValueError, RecursionError):
        return False
    return isinstance(value, dict) and list(value) == ["getVersion"]


def is_safe_url(value: str, configured: Iterable[str] = ()) -> bool:
    """True when ``value`` can only make the node connect to the configured store or to nothing.

    Strict on purpose, so that every common parser (WHATWG, urllib, Java's URI, libcurl) agrees on the host:
    a backslash, NUL or any control or whitespace character anywhere, userinfo (``@``), a percent-escape or a
    non-ASCII character in the authority, or an empty host make the value unsafe.
    """
    if value in set(configured):
        return True
    if any(c == "\\" or c.isspace() or ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for c in value):
        return False
    scheme, sep, rest = value.partition("://")
    if not sep or not re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]*", scheme):
        return False
    authority = re.split(r"[/?#]", rest, maxsplit=1)[0]
    if "@" in authority or "%" in authority or not authority.isascii():
        return False
    host, _, port = authority.partition(":")
    if port and not port.isdigit():
        return False
    host = host.lower()
    return bool(_HOST.fullmatch(host)) and (host == "invalid" or host.endswith(".invalid"))


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
