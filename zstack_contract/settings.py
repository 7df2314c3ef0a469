"""The suite's options: one table of names, CLI flags and environment fallbacks, resolved once.

Precedence is command line, then environment variable, then default. A bad value raises
:class:`SettingsError` whose message says which option and how to give it.
"""

from __future__ import annotations

import math
import os
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from zstack_contract.transport.secret import Secret

DEFAULT_TIMEOUT = 10.0
DEFAULT_LIVE_RATE = 10.0  # requests per second against a real cloud
DEFAULT_EXAMPLES = 25
DEFAULT_MAX_RESPONSE_BYTES = 4 * 1024 * 1024
MIN_MAX_RESPONSE_BYTES = 1024
MIN_RATE = 0.01  # requests per second; anything slower is a typo, not a cap (0 means no cap)
DEFAULT_JOB_TIMEOUT = 300.0  # seconds the suite waits for one async job at most
_SESSION_UUID = re.compile(r"[0-9a-fA-F]{32}")
_RUN_ID = re.compile(r"[A-Za-z0-9]{1,24}")


class SettingsError(ValueError):
    pass


@dataclass(frozen=True)
class OptionSpec:
    name: str  # dest, e.g. "zstack_url"
    flag: str
    env: str
    help: str
    metavar: str | None = None
    is_flag: bool = False
    multiple: bool = False


OPTIONS: tuple[OptionSpec, ...] = (
    OptionSpec(
        "zstack_url",
        "--zstack-url",
        "ZSTACK_URL",
        "management node base URL, e.g. http://mn:8080; absent: the embedded mock is started on 127.0.0.1 (port 0)",
        "URL",
    ),
    OptionSpec("zstack_session", "--zstack-session", "ZSTACK_SESSION", "an existing session uuid to use", "UUID"),
    OptionSpec("zstack_account", "--zstack-account", "ZSTACK_ACCOUNT", "account to log in with", "NAME"),
    OptionSpec(
        "zstack_password",
        "--zstack-password",
        "ZSTACK_PASSWORD",
        "plain-text password (sent as SHA-512 hex, never written to reports)",
        "PASSWORD",
    ),
    OptionSpec(
        "zstack_image_store_url",
        "--zstack-image-store-url",
        "ZSTACK_IMAGE_STORE_URL",
        "image store URL used for positive calls (the 'url' parameter)",
        "URL",
    ),
    OptionSpec(
        "zstack_registry_port",
        "--zstack-registry-port",
        "ZSTACK_REGISTRY_PORT",
        "registry port used for positive calls (absent: not sent, the server default applies)",
        "PORT",
    ),
    OptionSpec(
        "zstack_param",
        "--zstack-param",
        "ZSTACK_PARAMS",
        "NAME=VALUE for positive calls of other APIs (repeatable; env: comma-separated)",
        "NAME=VALUE",
        multiple=True,
    ),
    OptionSpec("zstack_strict", "--zstack-strict", "ZSTACK_STRICT", "should-rules gate too", is_flag=True),
    OptionSpec(
        "zstack_timeout",
        "--zstack-timeout",
        "ZSTACK_TIMEOUT",
        f"seconds per request, one deadline for connect, headers and the whole body (default {DEFAULT_TIMEOUT:g})",
        "SECONDS",
    ),
    OptionSpec(
        "zstack_rate_limit",
        "--zstack-rate-limit",
        "ZSTACK_RATE_LIMIT",
        f"requests per second (at least {MIN_RATE:g}; 0 = no cap; default {DEFAULT_LIVE_RATE:g} for --zstack-url, "
        "none for the mock); with -n N the cap is shared by all workers",
        "RPS",
    ),
    OptionSpec(
        "zstack_max_response_bytes",
        "--zstack-max-response-bytes",
        "ZSTACK_MAX_RESPONSE_BYTES",
        f"largest response body read, in bytes (default {DEFAULT_MAX_RESPONSE_BYTES}); a larger body is reported "
        "as not judgeable, not read whole",
        "BYTES",
    ),
    OptionSpec(
        "zstack_mock_deviation",
        "--zstack-mock-deviation",
        "ZSTACK_MOCK_DEVIATION",
        "make the embedded mock break the contract in this named way (repeatable; env: comma-separated)",
        "NAME",
        multiple=True,
    ),
    OptionSpec(
        "zstack_examples",
        "--zstack-examples",
        "ZSTACK_EXAMPLES",
        f"generated examples per property test (default {DEFAULT_EXAMPLES})",
        "N",
    ),
    OptionSpec(
        "zstack_seed",
        "--zstack-seed",
        "ZSTACK_SEED",
        "seed for generated tests (default: derandomized, the same inputs every run)",
        "N",
    ),
    OptionSpec(
        "zstack_schemas", "--zstack-schemas", "ZSTACK_SCHEMAS", "schema folder (default: <rootdir>/schemas)", "DIR"
    ),
    OptionSpec(
        "zstack_report_dir",
        "--zstack-report-dir",
        "ZSTACK_REPORT_DIR",
        "where a contract run writes its HTML, JUnit and JSON reports (default: <rootdir>/reports; "
        "'none' to write nothing)",
        "DIR",
    ),
    OptionSpec(
        "zstack_allow_writes",
        "--zstack-allow-writes",
        "ZSTACK_ALLOW_WRITES",
        "send state-changing requests: create, change and delete resources named zstack-contract-<run id>-* "
        "(deleted at the end); default read-only. RecoverDatabaseFromBackup is never sent to a live URL",
        is_flag=True,
    ),
    OptionSpec(
        "zstack_job_timeout",
        "--zstack-job-timeout",
        "ZSTACK_JOB_TIMEOUT",
        f"most seconds to wait for one async job (default {DEFAULT_JOB_TIMEOUT:g}); the bound used is the smaller "
        "of this and the job's apiTimeout plus --zstack-timeout",
        "SECONDS",
    ),
    OptionSpec(
        "zstack_run_id",
        "--zstack-run-id",
        "ZSTACK_RUN_ID",
        "names what this run creates (zstack-contract-<ID>-*): 1 to 24 letters or digits (default: the UTC time "
        "YYYYmmddHHMMSS and 4 random hex digits)",
        "ID",
    ),
    OptionSpec(
        "zstack_baseline",
        "--zstack-baseline",
        "ZSTACK_BASELINE",
        "JSON file of accepted findings: known ones do not fail the run, new ones do",
        "FILE",
    ),
    OptionSpec(
        "zstack_update_baseline",
        "--zstack-update-baseline",
        "ZSTACK_UPDATE_BASELINE",
        "write this run's findings into --zstack-baseline (keeping reasons already given)",
        is_flag=True,
    ),
)


@dataclass(frozen=True)
class Settings:
    url: str | None
    session: Secret | None = field(repr=False)
    account: str | None
    password: Secret | None = field(repr=False)
    positive_params: Mapping[str, str]
    strict: bool
    timeout: float
    rate_limit: float
    deviations: tuple[str, ...]
    examples: int
    seed: int | None
    schemas_dir: Path
    report_dir: Path | None
    baseline: Path | None
    update_baseline: bool
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES
    allow_writes: bool = False
    job_timeout: float = DEFAULT_JOB_TIMEOUT
    run_id: str = field(default_factory=lambda: new_run_id())

    @property
    def uses_mock(self) -> bool:
        return self.url is None

    @property
    def level(self) -> str:
        return "strict (must + should gate)" if self.strict else "default (must gates, should reported)"


Getter = Callable[[str], Any]


def _raw(spec: OptionSpec, cli: Getter, env: Mapping[str, str]) -> Any:
    value = cli(spec.name)
    if spec.is_flag:
        if value:
            return True
        return env.get(spec.env, "").strip().lower() in ("1", "true", "yes", "on")
    if spec.multiple:
        if value:
            return list(value)
        return [v.strip() for v in env.get(spec.env, "").split(",") if v.strip()]
    if value is not None:
        return value
    return env.get(spec.env) or None


def _number(spec: OptionSpec, raw: str | None, kind: type[int] | type[float], default: Any, minimum: float) -> Any:
    if raw is None:
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise SettingsError(f"{spec.flag} ({spec.env}) must be a number, got {raw!r}") from None
    if not math.isfinite(value):
        raise SettingsError(f"{spec.flag} ({spec.env}) must be a finite number, got {raw!r}")
    if value < minimum:
        raise SettingsError(f"{spec.flag} ({spec.env}) must be at least {minimum:g}, got {raw!r}")
    return value


def resolve(cli: Getter, env: Mapping[str, str] | None = None, *, rootdir: Path) -> Settings:
    """Resolve every option (CLI > environment > default) and check it."""
    env = os.environ if env is None else env
    spec = {s.name: s for s in OPTIONS}
    raw = {name: _raw(s, cli, env) for name, s in spec.items()}
    url = None if raw["zstack_url"] is None else _base_url(raw["zstack_url"])
    _check_target(raw, url)
    baseline = Path(raw["zstack_baseline"]) if raw["zstack_baseline"] else None
    if raw["zstack_update_baseline"] and baseline is None:
        raise SettingsError("--zstack-update-baseline needs --zstack-baseline FILE to know where to write")
    seed_raw = raw["zstack_seed"]
    default_rate = 0.0 if url is None else DEFAULT_LIVE_RATE  # the embedded mock is not rate-limited
    return Settings(
        url=url,
        session=None if raw["zstack_session"] is None else Secret(raw["zstack_session"]),
        account=raw["zstack_account"],
        password=None if raw["zstack_password"] is None else Secret(raw["zstack_password"]),
        positive_params=_positive_values(raw, spec),
        strict=bool(raw["zstack_strict"]),
        timeout=_number(spec["zstack_timeout"], raw["zstack_timeout"], float, DEFAULT_TIMEOUT, 0.001),
        rate_limit=_rate(spec["zstack_rate_limit"], raw["zstack_rate_limit"], default_rate),
        deviations=tuple(raw["zstack_mock_deviation"]),
        examples=_number(spec["zstack_examples"], raw["zstack_examples"], int, DEFAULT_EXAMPLES, 1),
        seed=None if seed_raw is None else _number(spec["zstack_seed"], seed_raw, int, None, 0),
        schemas_dir=Path(raw["zstack_schemas"]) if raw["zstack_schemas"] else rootdir / "schemas",
        report_dir=_report_dir(raw["zstack_report_dir"], rootdir),
        baseline=baseline,
        update_baseline=bool(raw["zstack_update_baseline"]),
        max_response_bytes=_number(
            spec["zstack_max_response_bytes"],
            raw["zstack_max_response_bytes"],
            int,
            DEFAULT_MAX_RESPONSE_BYTES,
            MIN_MAX_RESPONSE_BYTES,
        ),
        allow_writes=bool(raw["zstack_allow_writes"]),
        job_timeout=resolve_job_timeout(spec["zstack_job_timeout"], raw["zstack_job_timeout"]),
        run_id=resolve_run_id(spec["zstack_run_id"], raw["zstack_run_id"]),
    )


def new_run_id(now: datetime | None = None) -> str:
    """A fresh run id: the UTC time to the second and 4 random hex digits (two runs in one second differ)."""
    moment = now or datetime.now(UTC)
    return moment.strftime("%Y%m%d%H%M%S") + secrets.token_hex(2)


def resolve_run_id(spec: OptionSpec, raw: str | None) -> str:
    """The run id given, checked: it becomes part of resource names and of a Query's LIKE pattern, so only
    letters and digits (no '%', '_' or '-' that would widen what a cleanup matches)."""
    if raw is None:
        return new_run_id()
    if not _RUN_ID.fullmatch(raw):
        raise SettingsError(
            f"{spec.flag} ({spec.env}) must be 1 to 24 letters or digits (A-Z, a-z, 0-9), got {raw!r}"
        )
    return raw


def resolve_job_timeout(spec: OptionSpec, raw: str | None) -> float:
    """Seconds to wait for one job: a finite number above 0."""
    value: float = _number(spec, raw, float, DEFAULT_JOB_TIMEOUT, -math.inf)
    if value <= 0:
        raise SettingsError(f"{spec.flag} ({spec.env}) must be more than 0 seconds, got {raw!r}")
    return value


def _check_target(raw: Mapping[str, Any], url: str | None) -> None:
    """The target and its credentials go together: a mock deviation only on the mock, a session uuid that is
    one, an account with its password, and some credentials for a live node."""
    if url is not None and raw["zstack_mock_deviation"]:
        raise SettingsError("--zstack-mock-deviation applies to the embedded mock; drop it or drop --zstack-url")
    session = raw["zstack_session"]
    if session is not None and not _SESSION_UUID.fullmatch(session):
        raise SettingsError(
            "--zstack-session (ZSTACK_SESSION) must be a ZStack session uuid: 32 hex digits without dashes, "
            f"got {len(session)} characters" + ("" if session else " (empty)")
        )
    if (raw["zstack_account"] is None) != (raw["zstack_password"] is None):
        raise SettingsError(
            "give both --zstack-account and --zstack-password (ZSTACK_ACCOUNT / ZSTACK_PASSWORD), or neither"
        )
    if url is not None and raw["zstack_session"] is None and raw["zstack_account"] is None:
        raise SettingsError(
            f"no credentials for {url}: pass --zstack-account NAME --zstack-password PASSWORD "
            "(or ZSTACK_ACCOUNT / ZSTACK_PASSWORD), or an existing session with --zstack-session UUID"
        )


def _positive_values(raw: Mapping[str, Any], spec: Mapping[str, OptionSpec]) -> dict[str, str]:
    """The values of positive calls: --zstack-param NAME=VALUE, the image store URL and the registry port."""
    positive: dict[str, str] = {}
    for item in raw["zstack_param"]:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise SettingsError(f"--zstack-param takes NAME=VALUE, got {item!r}")
        positive[name] = value
    if raw["zstack_image_store_url"] is not None:
        positive["url"] = raw["zstack_image_store_url"]
    if raw["zstack_registry_port"] is not None:
        port = _number(spec["zstack_registry_port"], raw["zstack_registry_port"], int, None, 1)
        if port > 65535:
            raise SettingsError(f"--zstack-registry-port must be in 1..65535, got {port}")
        positive["registryPort"] = str(port)
    return positive


def _report_dir(raw: str | None, rootdir: Path) -> Path | None:
    """Where reports go: ``<rootdir>/reports`` by default, nowhere for ``none``."""
    if raw is None:
        return rootdir / "reports"
    return None if str(raw).lower() == "none" else Path(raw)


def _rate(spec: OptionSpec, raw: str | None, default: float) -> float:
    rate: float = _number(spec, raw, float, default, 0)
    if 0 < rate < MIN_RATE:
        raise SettingsError(
            f"{spec.flag} ({spec.env}) must be 0 (no cap) or at least {MIN_RATE:g} requests per second, got {raw!r}"
        )
    return rate


def _base_url(url: str) -> str:
    """The management node's base URL, checked; a URL with userinfo is refused without printing the password."""
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port  # port raises ValueError when it is not a number in range
    except ValueError:
        raise SettingsError(
            f"--zstack-url (ZSTACK_URL) is not a valid URL ({_without_userinfo(url)!r}): give it like http://mn:8080"
        ) from None
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise SettingsError(
            f"--zstack-url (ZSTACK_URL) must not carry a user or password ({_without_userinfo(url)!r}): ZStack "
            "authenticates with --zstack-account/--zstack-password or --zstack-session, never with URL userinfo"
        )
    if parts.scheme not in ("http", "https") or not host:
        raise SettingsError(f"--zstack-url (ZSTACK_URL) must be an http(s) URL like http://mn:8080, got {url!r}")
    if parts.query or parts.fragment:
        raise SettingsError(f"--zstack-url (ZSTACK_URL) must not have a query or fragment, got {url!r}")
    del port
    url = url.rstrip("/")
    if url.endswith("/zstack"):
        url = url[: -len("/zstack")]
    return url


def _without_userinfo(url: str) -> str:
    """``url`` with everything between '//' and the last '@' before any '?' or '#' removed: no password prints.

    Conservative on purpose: parsers disagree on where a password containing '/' ends, so cut up to the last '@'.
    """
    scheme, sep, rest = url.partition("//")
    head = re.split(r"[?#]", rest, maxsplit=1)[0]
    if "@" not in head:
        return url
    return f"{scheme}{sep}{rest[head.rindex('@') + 1 :]}"
