"""The management node under test: the embedded mock or a live URL, reachable and logged in, or a clear error."""

from __future__ import annotations

from dataclasses import dataclass, field

from zstack_contract.client import Auth, LoginRejectedError, TargetUnreachableError, ZStackClient
from zstack_contract.mock import ADMIN_ACCOUNT, ADMIN_PASSWORD, SEEDED_IMAGE_STORE_URL, MockZStack
from zstack_contract.secret import Secret
from zstack_contract.settings import Settings


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
        """A throwaway session of the suite's own (never the user's --zstack-session, which it must not end)."""
        if self.account is None or self.password is None:
            raise TargetError("needs --zstack-account/--zstack-password to create a session of its own")
        uuid = self.client.login(self.account, self.password)
        self.owned_sessions.append(uuid)
        return uuid

    def close(self) -> None:
        try:
            for uuid in self.owned_sessions:
                try:
                    self.client.logout(uuid)
                except TargetUnreachableError:
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


def open_target(settings: Settings) -> Target:
    """Start or reach the node, read its version, log in. Raises TargetError with one actionable message."""
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
        base_url, timeout=settings.timeout, rate_limit=settings.rate_limit, session=settings.session
    )
    target = Target(settings, client, None, mock, account, password)
    try:
        try:
            target.version = client.get_version()
        except TargetUnreachableError as exc:
            raise TargetError(
                f"cannot reach the management node at {base_url}: {exc}. Check --zstack-url (ZSTACK_URL), "
                "that the node is up and that this machine can reach it"
            ) from exc
        if settings.session is not None:
            check = client.send(
                "GET", f"/zstack/v1/accounts/sessions/{settings.session.reveal()}/valid", auth=Auth.NONE
            )
            is_json, body = check.parsed
            if check.status == 200 and is_json and isinstance(body, dict) and body.get("valid") is False:
                raise TargetError(
                    "the session given with --zstack-session (ZSTACK_SESSION) is not valid on "
                    f"{base_url}: log in again, or pass --zstack-account/--zstack-password instead"
                )
        else:
            try:
                client.session = target.new_session()
            except LoginRejectedError as exc:
                raise TargetError(f"{exc}. Check --zstack-account / --zstack-password") from exc
    except BaseException:
        target.close()
        raise
    return target
