"""The management node under test: the embedded mock or a live URL, reachable and logged in, or a clear error."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from zstack_contract.mock import ADMIN_ACCOUNT, ADMIN_PASSWORD, SEEDED_IMAGE_STORE_URL, MockZStack
from zstack_contract.settings import Settings
from zstack_contract.transport.client import (
    Exchange,
    LoginRejectedError,
    TargetDownError,
    TargetUnreachableError,
    UnsafeRequestError,
    ZStackClient,
)
from zstack_contract.transport.ledger import Ledger
from zstack_contract.transport.secret import Secret


class TargetError(RuntimeError):
    """The suite cannot run at all against this target; the message says what to fix."""


@dataclass
class Target:
    settings: Settings
    client: ZStackClient
    version: str | None
    mock: MockZStack | None = None
    account: str | None = None
    password: Secret | None = field(default=None, repr=False)
    owned_sessions: list[Secret] = field(default_factory=list, repr=False)
    _probe: Secret | None = field(default=None, repr=False)
    # APIs this process found not served (404 'no api mapping'), each with the test that found it: later tests
    # of the API are not sent, so the API is reported once, as not served.
    not_served: dict[str, str] = field(default_factory=dict)
    # What this process created (writes mode), for the session-end cleanup and the report.
    ledger: Ledger = field(default_factory=Ledger)

    @property
    def run_id(self) -> str:
        """Names what this run creates: zstack-contract-<run id>-<label> (--zstack-run-id)."""
        return self.settings.run_id

    @property
    def url(self) -> str:
        return self.client.base_url

    @property
    def description(self) -> str:
        if self.mock is not None:
            deviations = ", ".join(self.settings.deviations) or "none (conforming)"
            return f"embedded mock at {self.url} (deviations: {deviations})"
        return self.url

    @property
    def can_login(self) -> bool:
        return self.account is not None and self.password is not None

    def new_session(self) -> Secret:
        """A throwaway session of the suite's own (never the user's --zstack-session, which it must not end).

        Raises TargetError (with what to check) when the node gives no usable session.
        """
        if self.account is None or self.password is None:
            raise TargetError("needs --zstack-account/--zstack-password to create a session of its own")
        try:
            uuid = self.client.login(self.account, self.password)
        except LoginRejectedError as exc:
            raise TargetError(_login_advice(exc)) from None
        self.owned_sessions.append(uuid)
        return uuid

    def login_exchange(self) -> tuple[Exchange, Secret | None]:
        """Log in once more and keep the answer (for the tests of login itself); the session, when there is one,
        is the suite's own and is logged out at the end."""
        if self.account is None or self.password is None:
            raise TargetError("needs --zstack-account/--zstack-password to log in")
        exchange, session = self.client.login_exchange(self.account, self.password)
        if session is not None:
            self.owned_sessions.append(session)
        return exchange, session

    def probe_session(self) -> Secret:
        """A session to put where an API reads one (ValidateSession's path): one of the suite's own, opened once
        and logged out at the end; the run's session when the suite cannot log in (it is only read, never ended)."""
        if self._probe is None and self.can_login:
            # No second session (a login answer without a usable uuid): the run's own session is read instead.
            with contextlib.suppress(TargetError):
                self._probe = self.new_session()
        if self._probe is None:
            if self.client.session is not None:
                self._probe = self.client.session
            else:
                raise TargetError(
                    "no session to fill a session parameter with: pass --zstack-account and --zstack-password"
                )
        return self._probe

    def session_is_valid(self) -> bool | None:
        """Whether the run's session is still valid (ValidateSession); None when the node cannot tell.

        TargetDownError propagates: a node that stopped answering ends the run.
        """
        session = self.client.session
        if session is None:
            return None
        try:
            answer = _valid_answer(self.client.validate_session(session))
        except TargetDownError:
            raise
        except (TargetUnreachableError, UnsafeRequestError):
            return None
        return answer if isinstance(answer, bool) else None

    def close(self) -> None:
        try:
            for uuid in self.owned_sessions:
                try:
                    self.client.logout(uuid)
                except (TargetUnreachableError, UnsafeRequestError):
                    break
        finally:
            self.client.close()
            if self.mock is not None:
                self.mock.stop()


def positive_defaults(settings: Settings) -> dict[str, str]:
    """Positive-call values: the user's, and for the embedded mock its seeded image store."""
    values = dict(settings.positive_params)
    if settings.uses_mock:
        values.setdefault("url", SEEDED_IMAGE_STORE_URL)
    return values


def _valid_answer(exchange: Exchange) -> bool | str:
    """ValidateSession's ``valid`` flag, or a description of the answer when it is not ZStack's shape."""
    is_json, body = exchange.parsed
    if exchange.status == 200 and is_json and isinstance(body, dict) and isinstance(body.get("valid"), bool):
        return bool(body["valid"])
    shape = exchange.problem or ("a JSON body without a boolean 'valid'" if is_json else "a body that is not JSON")
    return f"HTTP {exchange.status} with {shape}"


def _login_advice(exc: LoginRejectedError) -> str:
    if exc.kind == "refused":
        return f"{exc}. Check --zstack-account / --zstack-password"
    return str(exc)


def open_target(settings: Settings, *, workers: int = 1, write_only: Iterable[re.Pattern[str]] = ()) -> Target:
    """Start or reach the node, read its version, log in. Raises TargetError with one actionable message.

    ``workers`` processes share the run (pytest-xdist): each gets an equal share of the rate cap. ``write_only``:
    the catalogue's paths a GET would run a state-changing API on (:func:`safety.write_only_paths`), refused
    read-only like any write.
    """
    mock: MockZStack | None = None
    account: str | None
    password: Secret | None
    if settings.url is None:
        mock = MockZStack(deviations=settings.deviations)
        mock.start()
        base_url = mock.url
        account, password = settings.account or ADMIN_ACCOUNT, settings.password or Secret(ADMIN_PASSWORD)
    else:
        base_url = settings.url
        account, password = settings.account, settings.password
    client = ZStackClient(
        base_url,
        timeout=settings.timeout,
        rate_limit=settings.rate_limit / max(1, workers),
        session=settings.session,
        allow_writes=settings.allow_writes,
        embedded_mock=mock is not None,
        write_only=write_only,
        max_response_bytes=settings.max_response_bytes,
    )
    target = Target(settings, client, None, mock, account, password)
    try:
        _connect(target, base_url)
    except BaseException:
        target.close()
        raise
    return target


def _connect(target: Target, base_url: str) -> None:
    settings, client = target.settings, target.client
    try:
        target.version = client.get_version()
        if settings.session is not None:
            answer = _valid_answer(client.validate_session(settings.session))
            if answer is False:
                raise TargetError(
                    "the session given with --zstack-session (ZSTACK_SESSION) is not valid on "
                    f"{base_url}: log in again, or pass --zstack-account/--zstack-password instead"
                )
            if answer is not True:
                raise TargetError(
                    f"not a ZStack node or ValidateSession not served at {base_url}: {answer} to GET "
                    '/zstack/v1/accounts/sessions/{sessionUuid}/valid (expected HTTP 200 {"valid": true}). '
                    "Check --zstack-url (ZSTACK_URL)"
                )
        else:
            client.session = target.new_session()
    except TargetUnreachableError as exc:
        raise TargetError(
            f"cannot reach the management node at {base_url}: {exc}. Check --zstack-url (ZSTACK_URL), "
            "that the node is up and that this machine can reach it"
        ) from None
