"""Time that moves only when the code under test waits (or a test moves it): no sleeps in the self-tests."""

from __future__ import annotations


class FakeClock:
    """A monotonic clock and its sleep: ``clock``/``sleep`` for code that takes both, or the clock itself
    (``__call__``) with ``advance`` for a server that only reads the time."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    __call__ = clock

    def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 6))
        self.now += seconds

    def advance(self, seconds: float) -> None:
        self.now += seconds
