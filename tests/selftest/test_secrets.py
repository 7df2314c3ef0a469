"""No secret in any output, whatever the server does (issue 7, "Secrets, structurally").

Each hostile server runs the suite under ``-l -vv --tb=long`` (locals and full tracebacks: the widest output
pytest has), HTML on. The terminal and every artifact are then searched for every session uuid the server
issued, the password, its SHA-512 hex, a session given with ``--zstack-session`` and a URL's userinfo
password. The scan is independent of the suite's masking code: it knows the values from the server side.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.selftest.hostile import behaviours as hb
from tests.selftest.hostile.runner import Run, run_contract
from tests.selftest.hostile.server import ZStackServer

PASSWORD = "zstack-contract-S3cret-pw"
USERINFO_PASSWORD = "userinfo-S3cret-pw"
STORE = "sftp://root@image-store.invalid/zstack_bs"
WIDEST = ("-l", "-vv", "--tb=long", "-rA")
# A masking placeholder used as a JSON key ("{sessionUuid}": …) means masking rewrote a key, e.g. the login
# body's "password" key when the password is ZStack's factory default "password". Raw, JSON- or HTML-escaped.
PLACEHOLDER_KEY = re.compile(r'(\\?"|&quot;|&#34;)\{\w+\}(\\?"|&quot;|&#34;)\s*:')


def sha512_hex(text: str) -> str:
    return hashlib.sha512(text.encode()).hexdigest()


@pytest.fixture
def started() -> Iterator[list[ZStackServer]]:
    servers: list[ZStackServer] = []
    yield servers
    for server in servers:
        server.stop()


def _run(
    tmp_path: Path, server: ZStackServer, auth: str, password: str, *extra: str
) -> tuple[Run, list[str], list[Path]]:
    """One widest-output run; returns it, the secrets to look for, and extra artifacts (the baseline)."""
    secrets = [password, sha512_hex(password)]
    url = server.url
    args: tuple[str, ...] = ("--zstack-image-store-url", STORE, "--zstack-timeout", "1", "--zstack-examples", "2")
    args += ("--zstack-rate-limit", "0")
    if auth == "userinfo":
        url = f"http://admin:{USERINFO_PASSWORD}@127.0.0.1:{server.port}"
        secrets.append(USERINFO_PASSWORD)
    if auth in ("login", "userinfo", "session+login"):
        args += ("--zstack-account", "admin", "--zstack-password", password)
    if auth in ("session", "session+login"):
        # A session the user holds: live on the server (so the run uses it), never to be shown or ended.
        args += ("--zstack-session", server.new_session())
    if auth == "unknown-session":  # well-formed, never issued: the suite must refuse it without showing it
        given = uuid.uuid4().hex
        secrets.append(given)
        args += ("--zstack-session", given)
    baseline = tmp_path / "baseline.json"
    if "baseline" in extra:
        extra = ("--zstack-baseline", str(baseline), "--zstack-update-baseline")
    run = run_contract(tmp_path / "reports", "--zstack-url", url, *args, *extra, *WIDEST, quiet=False, timeout=60)
    return run, secrets, [baseline]


def _texts(run: Run, extra: list[Path]) -> dict[str, str]:
    texts = {"terminal": run.output, **run.artifacts()}
    for path in extra:
        if path.is_file():
            texts[path.name] = path.read_text(encoding="utf-8", errors="replace")
    return texts


def _leaks(texts: dict[str, str], secrets: list[str]) -> list[tuple[str, str, int]]:
    """(where, the secret's first 6 characters, how often): never the whole secret, even in a failure."""
    return [
        (name, secret[:6] + "…", text.count(secret))
        for name, text in texts.items()
        for secret in secrets
        if secret and secret in text
    ]


# (id, server, how the suite authenticates): every hostile server of test_hostile.py, and the user's own
# session against the servers that echo or break a connection mid-request.
CASES = [
    ("conforming", hb.Conforming, "login"),
    ("sessions-invalidated", hb.SessionsInvalidated, "login"),
    ("not-zstack", hb.NotZStack, "session"),
    ("unknown-session", hb.Conforming, "unknown-session"),
    ("api-not-served", hb.ApiNotServed, "login"),
    ("connection-dropped", hb.DropsApi, "login"),
    ("connection-dropped-user-session", hb.DropsApi, "session+login"),
    ("api-hangs", hb.HangsApi, "login"),
    ("slow-drip", hb.DripsApi, "login"),
    ("huge-body", hb.HugeApi, "login"),
    ("deep-json-api", hb.DeepApi, "login"),
    ("deep-json-login", hb.DeepLogin, "login"),
    ("deep-json-version", hb.DeepVersion, "login"),
    ("logout-500-echo", hb.LogoutEcho500, "login"),
    ("api-500-echo", hb.ApiEcho500, "login"),
    ("api-500-echo-user-session", hb.ApiEcho500, "session+login"),
    ("refusal-500-echo", hb.RefusalEcho500, "session+login"),
    ("path-in-login-uuid", hb.PathInLoginUuid, "login"),
    ("login-404", hb.NoLogin, "login"),
    ("userinfo-url", hb.Conforming, "userinfo"),
]


@pytest.mark.parametrize(("kind", "auth"), [pytest.param(k, a, id=i) for i, k, a in CASES])
def test_no_secret_in_any_output(
    kind: type[ZStackServer], auth: str, tmp_path: Path, started: list[ZStackServer]
) -> None:
    server = kind(password=PASSWORD).start()
    started.append(server)
    run, secrets, extra = _run(tmp_path, server, auth, PASSWORD)
    assert not run.killed, run.output[-3000:]
    secrets += server.issued  # read after the run: every session it handed out, the suite's own included
    texts = _texts(run, extra)
    assert len(texts) >= 2 or run.returncode == 4, sorted(texts)  # terminal + reports, unless it never ran
    assert _leaks(texts, secrets) == []
    assert [name for name, text in texts.items() if PLACEHOLDER_KEY.search(text)] == []


def test_no_secret_in_a_baseline_of_echoed_findings(tmp_path: Path, started: list[ZStackServer]) -> None:
    server = hb.RefusalEcho500(password=PASSWORD).start()
    started.append(server)
    run, secrets, extra = _run(tmp_path, server, "session+login", PASSWORD, "baseline")
    secrets += server.issued
    assert run.returncode == 0, run.output[-3000:]  # rewriting the baseline accepts every finding
    assert extra[0].is_file()
    assert json.loads(extra[0].read_text())["findings"], "the echoed 500s were recorded as findings"
    assert "NullPointerException: Authorization=" in run.artifacts().get("contract-results.json", "")  # the echo
    assert _leaks(_texts(run, extra), secrets) == []


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


@pytest.mark.parametrize("kind", [hb.Conforming, hb.LogoutEcho500], ids=["conforming", "logout-500-echo"])
def test_factory_password_masks_values_not_keys(
    kind: type[ZStackServer], tmp_path: Path, started: list[ZStackServer]
) -> None:
    """With the password "password", masking by substring would rewrite the login body's key "password"."""
    server = kind(password="password").start()
    started.append(server)
    run, _, extra = _run(tmp_path, server, "login", "password")
    secrets = [sha512_hex("password"), *server.issued]  # "password" itself is an ordinary word in the output
    texts = _texts(run, extra)
    assert _leaks(texts, secrets) == []
    assert [name for name, text in texts.items() if PLACEHOLDER_KEY.search(text)] == []
    # The wrong-password check's login request is evidence in the results: its key survives masking.
    assert run.results is not None, run.output[-3000:]
    bodies = [s for s in _strings(run.results["records"]) if "logInByAccount" in s]
    assert bodies, "the login request of the wrong-password check is in the evidence"
    assert all(re.search(r'"password"\s*:', s) for s in bodies), bodies
