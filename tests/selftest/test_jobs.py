"""Async jobs: submit, then poll the job on the configured node only, bounded, backing off, on a fake clock.

The servers are tiny scripted 127.0.0.1 servers; every wait goes to a fake clock, so no test sleeps.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest

from tests.selftest.fake_clock import FakeClock
from tests.selftest.test_transport import Respond, Seen, TinyServer, reply, serve
from zstack_contract.transport.client import Auth, ZStackClient
from zstack_contract.transport.jobs import (
    FIRST_WAIT,
    JOB_UUID_HEADER,
    JOBS_PREFIX,
    MAX_WAIT,
    POLL_STATS,
    PollStats,
    host_note,
    job_path,
    polling_bound,
    submit,
)
from zstack_contract.transport.secret import Secret

__all__ = ["serve"]  # the fixture, shared with test_transport

SESSION = "0123456789abcdef0123456789abcdef"
CREATE = "/zstack/v1/database-backups"
OTHER_NODE = "http://10.255.0.1:8080"


def job_server(
    polls: list[tuple[int, Any]],
    *,
    first: tuple[int, Any] | None = None,
    location: Callable[[str, str], Any] | None = None,
    api_timeout: Any = 1800000,
) -> Respond:
    """Answers the call with 202 {location, apiTimeout} (or ``first``), then each poll with the next of ``polls``
    (the last one repeats)."""
    answered = {"polls": 0}

    def respond(h: BaseHTTPRequestHandler, seen: Seen) -> None:
        if seen.path.startswith(JOBS_PREFIX):
            index = min(answered["polls"], len(polls) - 1)
            answered["polls"] += 1
            reply(h, *polls[index])
            return
        if first is not None:
            reply(h, *first)
            return
        job = seen.headers.get(JOB_UUID_HEADER, "f" * 32)
        host = seen.headers.get("Host", "")
        where = f"http://{host}{JOBS_PREFIX}{job}" if location is None else location(host, job)
        body: dict[str, Any] = {"location": where}
        if api_timeout is not None:
            body["apiTimeout"] = api_timeout
        reply(h, 202, body)

    return respond


def client_for(server: TinyServer, timeout: float = 5.0) -> ZStackClient:
    return ZStackClient(server.url, timeout=timeout, session=Secret(SESSION), allow_writes=True)


def test_a_job_is_polled_until_it_succeeds(serve: Callable[[Respond], TinyServer]) -> None:
    server = serve(job_server([(202, {}), (200, {"inventory": {"uuid": "b" * 32}})]))
    fake = FakeClock()
    before = POLL_STATS.to_json()
    run = submit(
        client_for(server), "POST", CREATE, json_body={"params": {}}, job_timeout=60, clock=fake.clock, sleep=fake.sleep
    )
    assert run.final is not None
    assert run.final.status == 200
    assert [p.status for p in run.polls] == [202, 200]
    assert run.gave_up == ""
    assert run.host_note == ""
    assert run.job_uuid is not None
    assert len(run.job_uuid) == 32
    call, *polls = server.seen
    assert call.method == "POST"
    assert call.headers[JOB_UUID_HEADER] == run.job_uuid
    assert call.headers["Authorization"] == f"OAuth {SESSION}"
    for seen in polls:  # the job endpoint checks no Authorization: none is sent
        assert (seen.method, seen.path) == ("GET", JOBS_PREFIX + run.job_uuid)
        assert "Authorization" not in seen.headers
    assert all(p.auth == Auth.NONE.value for p in run.polls)
    assert run.poll_path == JOBS_PREFIX + run.job_uuid
    assert fake.slept == [FIRST_WAIT, FIRST_WAIT * 2]  # backs off, never busy-waits
    assert run.polling_seconds == pytest.approx(0.06)
    assert run.elapsed == pytest.approx(0.06)
    assert run.bound == pytest.approx(60)  # min(60, 1800 s + 5 s)
    assert run.exchanges == [run.first, *run.polls]
    after = POLL_STATS.to_json()
    assert (after["jobs"] - before["jobs"], after["polls"] - before["polls"]) == (1, 2)


def test_a_failed_job_ends_with_its_503(serve: Callable[[Respond], TinyServer]) -> None:
    error = {"error": {"code": "SYS.1007", "description": "bad", "details": "d"}}
    server = serve(job_server([(202, {}), (503, error)]))
    fake = FakeClock()
    run = submit(client_for(server), "POST", CREATE, job_timeout=60, clock=fake.clock, sleep=fake.sleep)
    assert run.final is not None
    assert (run.final.status, run.final.parsed[1]) == (503, error)


def test_a_location_on_another_host_is_polled_on_the_configured_node(serve: Callable[[Respond], TinyServer]) -> None:
    server = serve(job_server([(200, {})], location=lambda host, job: f"{OTHER_NODE}{JOBS_PREFIX}{job}"))
    fake = FakeClock()
    run = submit(client_for(server), "POST", CREATE, job_timeout=60, clock=fake.clock, sleep=fake.sleep)
    assert run.final is not None
    assert run.final.status == 200
    assert run.location == f"{OTHER_NODE}{JOBS_PREFIX}{run.job_uuid}"
    assert run.host_note == f"location names {OTHER_NODE}, polled {server.url} instead"
    assert [s.path for s in server.seen] == [CREATE, f"{JOBS_PREFIX}{run.job_uuid}"]  # the poll reached this server
    assert run.polls[0].url == f"{server.url}{JOBS_PREFIX}{run.job_uuid}"


@pytest.mark.parametrize(
    ("location", "base", "note"),
    [
        ("http://127.0.0.1:8080/zstack/v1/api-jobs/a", "http://127.0.0.1:8080", ""),
        ("HTTP://127.0.0.1:80/zstack/v1/api-jobs/a", "http://127.0.0.1", ""),
        ("/zstack/v1/api-jobs/a", "http://127.0.0.1:8080", ""),
        ("http://127.0.0.1:8081/zstack/v1/api-jobs/a", "http://127.0.0.1:8080", "http://127.0.0.1:8081"),
        ("https://127.0.0.1:8080/zstack/v1/api-jobs/a", "http://127.0.0.1:8080", "https://127.0.0.1:8080"),
        ("http://mn:x/zstack/v1/api-jobs/a", "http://127.0.0.1:8080", "http://mn:x"),
    ],
)
def test_host_note(location: str, base: str, note: str) -> None:
    got = host_note(location, base)
    assert (got == "") if not note else (got == f"location names {note}, polled {base} instead")


@pytest.mark.parametrize(
    "location",
    [
        None,
        "http://mn:8080/zstack/v1/other/abc",
        "http://mn:8080/zstack/v1/api-jobs/",
        "http://mn:8080/zstack/v1/api-jobs/../../vm-instances/x",
        "http://mn:8080/zstack/v1/api-jobs/a%2Fb",
        "http://mn:8080/zstack/v1/api-jobs/a/b",
        "http://mn:8080/proxy/zstack/v1/api-jobs/abc",
        "http://[::1/zstack/v1/api-jobs/abc",
    ],
)
def test_a_location_that_is_not_a_job_path_is_not_polled(
    location: str | None, serve: Callable[[Respond], TinyServer]
) -> None:
    server = serve(job_server([(200, {})], location=lambda host, job: location))
    fake = FakeClock()
    run = submit(client_for(server), "POST", CREATE, job_timeout=60, clock=fake.clock, sleep=fake.sleep)
    assert run.final is None
    assert run.polls == []
    assert run.poll_path is None
    assert run.gave_up.startswith("not polled")
    assert len(server.seen) == 1
    assert job_path(location)[0] is None


def test_a_job_that_never_ends_is_given_up_at_the_bound(serve: Callable[[Respond], TinyServer]) -> None:
    server = serve(job_server([(202, {})]))
    fake = FakeClock()
    run = submit(client_for(server), "POST", CREATE, job_timeout=1, clock=fake.clock, sleep=fake.sleep)
    assert run.final is None
    assert fake.slept == [0.02, 0.04, 0.08, 0.16, 0.32, 0.38]  # the last wait is what is left of the bound
    assert len(run.polls) == 6  # the last poll goes out at the bound
    assert run.gave_up == "no final answer within the bound of 1 s: still 202 after 6 polls (1.00 s)"
    assert run.elapsed == pytest.approx(1.0)
    assert run.bound == 1


def test_waits_are_capped_at_one_second(serve: Callable[[Respond], TinyServer]) -> None:
    server = serve(job_server([(202, {})]))
    fake = FakeClock()
    run = submit(client_for(server), "POST", CREATE, job_timeout=6, clock=fake.clock, sleep=fake.sleep)
    assert max(fake.slept) == MAX_WAIT
    assert fake.slept[:7] == [0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.0]
    assert sum(fake.slept) == pytest.approx(6)
    assert run.final is None


def test_the_bound_follows_api_timeout(serve: Callable[[Respond], TinyServer]) -> None:
    server = serve(job_server([(202, {})], api_timeout=500))
    fake = FakeClock()
    run = submit(client_for(server, timeout=0.25), "POST", CREATE, job_timeout=60, clock=fake.clock, sleep=fake.sleep)
    assert run.bound == pytest.approx(0.75)  # 500 ms + --zstack-timeout 0.25 s
    assert sum(fake.slept) == pytest.approx(0.75)


@pytest.mark.parametrize(
    ("api_timeout", "bound"),
    [(1800000, 300), (1000, 6), (1000.0, 6), (None, 300), ("1000", 300), (True, 300), (0, 300), (-5, 300)],
)
def test_polling_bound(api_timeout: Any, bound: float) -> None:
    assert polling_bound(300, api_timeout, 5) == bound


def test_polling_bound_ignores_non_finite_api_timeout() -> None:
    assert polling_bound(300, float("inf"), 5) == 300
    assert polling_bound(300, float("nan"), 5) == 300


@pytest.mark.parametrize("status", [404, 500, 400, 201])
def test_any_other_poll_answer_stops_polling(status: int, serve: Callable[[Respond], TinyServer]) -> None:
    server = serve(job_server([(202, {}), (status, b"the job has been expired")]))
    fake = FakeClock()
    run = submit(client_for(server), "POST", CREATE, job_timeout=60, clock=fake.clock, sleep=fake.sleep)
    assert run.final is None
    assert run.gave_up == f"poll 2 answered HTTP {status} before the job ended"
    assert [p.status for p in run.polls] == [202, status]


def test_an_answer_that_is_not_202_ends_at_once(serve: Callable[[Respond], TinyServer]) -> None:
    server = serve(job_server([(200, {})], first=(200, {"inventory": {}})))
    fake = FakeClock()
    run = submit(client_for(server), "POST", CREATE, job_timeout=60, clock=fake.clock, sleep=fake.sleep)
    assert run.final is run.first
    assert run.first.status == 200
    assert run.polls == []
    assert fake.slept == []
    assert len(server.seen) == 1


@pytest.mark.parametrize("job_uuid", [None, "abc", "A" * 32])
def test_the_job_uuid_sent_is_the_one_given(job_uuid: str | None, serve: Callable[[Respond], TinyServer]) -> None:
    server = serve(job_server([(400, b"nope")], first=(400, b"nope")))
    run = submit(client_for(server), "POST", CREATE, job_uuid=job_uuid, job_timeout=60)
    assert run.job_uuid == job_uuid
    assert server.seen[0].headers.get(JOB_UUID_HEADER) == job_uuid


def test_ctrl_c_while_polling_propagates_and_is_counted(serve: Callable[[Respond], TinyServer]) -> None:
    server = serve(job_server([(202, {})]))
    fake = FakeClock()
    calls = {"n": 0}

    def interrupted(seconds: float) -> None:
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        fake.sleep(seconds)

    before = POLL_STATS.to_json()
    with pytest.raises(KeyboardInterrupt):
        submit(client_for(server), "POST", CREATE, job_timeout=60, clock=fake.clock, sleep=interrupted)
    after = POLL_STATS.to_json()
    assert (after["jobs"] - before["jobs"], after["polls"] - before["polls"]) == (1, 2)


def test_poll_stats_are_thread_safe() -> None:
    stats = PollStats()
    start = threading.Barrier(8)

    def work() -> None:
        start.wait()
        for _ in range(1000):
            stats.add(polls=2, seconds=0.5)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert stats.to_json() == {"jobs": 8000, "polls": 16000, "pollingSeconds": 4000.0}
    stats.reset()
    assert (stats.jobs, stats.polls, stats.polling_seconds) == (0, 0, 0.0)
