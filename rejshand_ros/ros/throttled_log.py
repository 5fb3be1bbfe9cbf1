"""Rate-limited warnings keyed by *kind* of problem, not by call site.

rclpy's ``throttle_duration_sec`` throttles per logging call, so a second, different bad
input within the period would go unreported. Here each distinct problem (the message with
its numbers masked, e.g. ``data has # bytes, expected height*step = #``) is logged at
most once per period, and the next message of that kind says how many were suppressed.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable

_NUMBER = re.compile(r"\d+(\.\d+)?")


def problem_kind(message: str) -> str:
    """The message with every number replaced by ``#``."""
    return _NUMBER.sub("#", message)


class ThrottledWarnings:
    """``warn(message)`` calls ``log(message)`` at most once per ``period_s`` per kind."""

    def __init__(self, log: Callable[[str], None], period_s: float = 5.0,
                 clock: Callable[[], float] = time.monotonic, max_kinds: int = 256) -> None:
        self._log = log
        self.period_s = period_s
        self._clock = clock
        self._max_kinds = max_kinds
        self._last: dict[str, float] = {}
        self._suppressed: dict[str, int] = {}
        self._lock = threading.Lock()

    def warn(self, message: str) -> bool:
        """Log ``message`` unless one of its kind was logged within the period."""
        kind = problem_kind(message)
        now = self._clock()
        with self._lock:
            last = self._last.get(kind)
            if last is not None and now - last < self.period_s:
                self._suppressed[kind] = self._suppressed.get(kind, 0) + 1
                return False
            if kind not in self._last and len(self._last) >= self._max_kinds:
                oldest = min(self._last, key=self._last.get)  # bounded memory
                self._last.pop(oldest)
                self._suppressed.pop(oldest, None)
            self._last[kind] = now
            suppressed = self._suppressed.pop(kind, 0)
        if suppressed:
            message += f" ({suppressed} more like this in the last {self.period_s:g} s)"
        self._log(message)
        return True
