"""Handling a live frame stream without a backlog, and noticing when it restarts.

:class:`FrameSlot` is a one-slot buffer between a producer (the image callback) and one
consumer (the inference worker): ``put`` replaces whatever is waiting (and says so, for
the dropped-frames counter), ``take`` blocks until a frame is there. A slow consumer
therefore always gets the newest frame, never a queue of old ones.

:class:`StreamMonitor` says when per-track state must be forgotten: the image timestamps
jumped backwards (a bag looped, the camera restarted), or no frame arrived for
``timeout_s`` (the camera stopped). Both ROS-free.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class FrameSlot(Generic[T]):
    """Thread-safe one-slot buffer; see the module docstring."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._item: T | None = None
        self._closed = False

    def put(self, item: T, merge: Callable[[T, T], T] | None = None) -> bool:
        """Store ``item``; True when it replaced a frame nobody had taken (a drop).

        ``merge(replaced, item)``, when given, computes what is stored instead of
        ``item`` when a frame is replaced (e.g. to carry a pending reset forward).
        """
        with self._cond:
            overwrote = self._item is not None
            if overwrote and merge is not None:
                item = merge(self._item, item)
            self._item = item
            self._cond.notify()
            return overwrote

    def take(self, timeout_s: float | None = None) -> T | None:
        """The waiting item (slot emptied), or None after ``timeout_s`` or on close."""
        with self._cond:
            self._cond.wait_for(lambda: self._item is not None or self._closed, timeout_s)
            item, self._item = self._item, None
            return item

    def close(self) -> None:
        """Wake the consumer for good (``take`` returns None from now on when empty)."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    @property
    def closed(self) -> bool:
        return self._closed


class StreamMonitor:
    """Decides, per frame, whether the tracks must be reset (and why).

    Args:
        timeout_s: a gap longer than this between received frames (receipt clock) means
            the camera stopped or restarted.
        backwards_tolerance_s: stamps may go back this much (reordering) without a reset.
    """

    def __init__(self, timeout_s: float, backwards_tolerance_s: float = 1e-6) -> None:
        self.timeout_s = timeout_s
        self.backwards_tolerance_s = backwards_tolerance_s
        self._last_stamp: float | None = None
        self._last_receipt: float | None = None

    def check(self, stamp_s: float, receipt_s: float) -> str | None:
        """Feed one frame; returns the reset reason, or None to keep the tracks."""
        reason = None
        if self._last_stamp is not None and stamp_s < self._last_stamp - self.backwards_tolerance_s:
            reason = (f"image timestamps jumped backwards by "
                      f"{self._last_stamp - stamp_s:.3f} s")
        elif self._last_receipt is not None and receipt_s - self._last_receipt > self.timeout_s:
            reason = f"no image for {receipt_s - self._last_receipt:.1f} s"
        self._last_stamp, self._last_receipt = stamp_s, receipt_s
        return reason

    def silent_for(self, now_s: float) -> float:
        """Seconds since the last frame was received (inf before the first)."""
        return float("inf") if self._last_receipt is None else now_s - self._last_receipt
