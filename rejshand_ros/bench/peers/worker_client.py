"""Drive ``mediapipe_worker.py`` (in .venv-peers) one frame at a time from the bench
process, so MediaPipe and our pipeline can be timed interleaved on the same frames."""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
from pathlib import Path

WORKER = Path(__file__).resolve().parent / "mediapipe_worker.py"
SETUP_COMMAND = "bash scripts/setup_peers.sh"


def default_peers_python() -> Path:
    """.venv-peers/bin/python beside this install's venv (the repository root)."""
    return Path(sys.prefix).resolve().parent / ".venv-peers" / "bin" / "python"


class WorkerError(RuntimeError):
    """The worker died, answered nonsense or did not answer in time."""


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
        self.timeout_s = timeout_s
        self.log = log
        self._stderr = open(log, "w", encoding="utf-8")
        self.process = subprocess.Popen(
            [str(python), str(WORKER), "--frames", str(frames), "--threads", str(threads)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr, text=True,
            bufsize=1)
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True, name="mp-worker")
        self._reader.start()
        self.hello = self._reply()
        if not self.hello.get("ready"):
            raise WorkerError(f"the worker did not start: {self.hello}")

    def _read(self) -> None:
        for line in self.process.stdout:
            self._lines.put(line)
        self._lines.put(None)

    def _reply(self) -> dict:
        try:
            line = self._lines.get(timeout=self.timeout_s)
        except queue.Empty:
            raise WorkerError(f"no reply from the MediaPipe worker within "
                              f"{self.timeout_s:g} s (log: {self.log})") from None
        if line is None:
            self.process.wait(timeout=10)
            raise WorkerError(f"the MediaPipe worker exited with code "
                              f"{self.process.returncode}: {self._log_tail()}")
        reply = json.loads(line)
        if "error" in reply:
            raise WorkerError(f"MediaPipe worker: {reply['error']}")
        return reply

    def _log_tail(self) -> str:
        self._stderr.flush()
        return self.log.read_text(errors="replace")[-2000:]

    def _send(self, command: dict) -> dict:
        try:
            self.process.stdin.write(json.dumps(command) + "\n")
            self.process.stdin.flush()
        except BrokenPipeError as exc:
            raise WorkerError(f"the MediaPipe worker is gone: {self._log_tail()}") from exc
        return self._reply()

    def frame(self, index: int) -> dict:
        """The worker's result for frame ``index`` (see mediapipe_worker's protocol)."""
        reply = self._send({"cmd": "frame", "index": index})
        if reply.get("index") != index:
            raise WorkerError(f"asked for frame {index}, got {reply}")
        return reply

    def reset(self) -> None:
        self._send({"cmd": "reset"})

    def close(self) -> int:
        """Ask the worker to quit; returns its exit code."""
        if self.process.poll() is None:
            try:
                self.process.stdin.write(json.dumps({"cmd": "quit"}) + "\n")
                self.process.stdin.close()
            except BrokenPipeError:
                pass
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._stderr.close()
        return self.process.returncode
