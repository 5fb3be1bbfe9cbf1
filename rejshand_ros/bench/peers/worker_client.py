"""Drive ``mediapipe_worker.py`` (in .venv-peers) one frame at a time from the bench
process, so MediaPipe and our pipeline can be timed interleaved on the same frames."""

from __future__ import annotations

from pathlib import Path

from rejshand_ros.mediapipe_hands.line_worker import LineWorker, WorkerError
from rejshand_ros.mediapipe_hands.client import SETUP_COMMAND, default_mediapipe_python

WORKER = Path(__file__).resolve().parent / "mediapipe_worker.py"


def default_peers_python() -> Path:
    """.venv-peers/bin/python (found as for the node's estimator: mediapipe)."""
    return default_mediapipe_python()


class MediaPipeWorker:
    """A running worker: ``frame(i)`` / ``reset()`` send one command and return its reply.

    Args:
        python: the .venv-peers interpreter.
        frames: .npz with ``images`` (N, H, W, 3) uint8 RGB.
        threads: threads of the landmark model alone (and OpenCV) in the worker.
        log: the worker's stderr goes here.
        timeout_s: longest wait for one reply (start-up included).
    """

    def __init__(self, python: Path, frames: Path, threads: int, log: Path,
                 timeout_s: float = 120.0) -> None:
        self.log = log
        self.worker = LineWorker(
            [str(python), str(WORKER), "--frames", str(frames), "--threads", str(threads)],
            "MediaPipe worker", log, timeout_s)
        self.hello = self.worker.hello

    def frame(self, index: int) -> dict:
        """The worker's result for frame ``index`` (see mediapipe_worker's protocol)."""
        reply = self.worker.request({"cmd": "frame", "index": index})
        if reply.get("index") != index:
            raise WorkerError(f"asked for frame {index}, got {reply}")
        return reply

    def reset(self) -> None:
        self.worker.request({"cmd": "reset"})

    def close(self) -> int:
        """Ask the worker to quit; returns its exit code."""
        return self.worker.close({"cmd": "quit"})


__all__ = ["MediaPipeWorker", "SETUP_COMMAND", "WorkerError", "default_peers_python"]
