"""A child process that answers commands with one JSON object per line.

Used to run code in another interpreter (MediaPipe lives in ``.venv-peers``: numpy 1,
protobuf 4) from this one. The protocol: the child first prints ``{"ready": true, ...}``;
then each command is one JSON line on its stdin, optionally followed by a binary payload
whose length the command states, and the child answers one JSON line on stdout (an
``"error"`` key is a failed command). The child's stderr goes to a log whose tail is
quoted when something goes wrong.
"""

from __future__ import annotations

import json
import queue
import subprocess
import tempfile
import threading
from pathlib import Path
from typing import IO

LOG_TAIL_BYTES = 2000


class WorkerError(RuntimeError):
    """The worker died, answered an error or nonsense, or did not answer in time."""


class LineWorker:
    """Start ``argv`` and wait for its ready line (``hello``).

    Args:
        argv: the command line (interpreter, script, arguments).
        name: what the worker is, for error messages.
        log: file for the child's stderr (None: an anonymous temporary file).
        timeout_s: longest wait for one reply, the ready line included.

    Raises:
        WorkerError: the child could not start, exited or did not say it is ready.
    """

    def __init__(self, argv: list[str], name: str, log: Path | None = None,
                 timeout_s: float = 60.0) -> None:
        self.name, self.log, self.timeout_s = name, log, timeout_s
        self._stderr: IO[bytes] = (open(log, "w+b") if log is not None
                                   else tempfile.TemporaryFile())
        try:
            self.process = subprocess.Popen(argv, stdin=subprocess.PIPE,
                                            stdout=subprocess.PIPE, stderr=self._stderr)
        except OSError as exc:
            self._stderr.close()
            raise WorkerError(f"cannot start the {name} ({argv[0]}): {exc}") from exc
        self._lines: queue.Queue[bytes | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True, name=f"{name} reader").start()
        try:
            self.hello = self.reply()
            if not self.hello.get("ready"):
                raise WorkerError(f"the {name} did not start: {self.hello}")
        except WorkerError:
            self.kill()
            self._stderr.close()
            raise

    def _read(self) -> None:
        try:
            for line in self.process.stdout:
                self._lines.put(line)
        except (ValueError, OSError):  # stdout closed under us: the worker was ended
            pass
        self._lines.put(None)

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def log_tail(self) -> str:
        """The last ~2 kB the child wrote on stderr."""
        if self._stderr.closed:
            return ""
        self._stderr.flush()
        size = self._stderr.seek(0, 2)
        self._stderr.seek(max(0, size - LOG_TAIL_BYTES))
        return self._stderr.read().decode(errors="replace")

    def reply(self) -> dict:
        """The next JSON line from the child (waits up to ``timeout_s``)."""
        try:
            line = self._lines.get(timeout=self.timeout_s)
        except queue.Empty:
            raise WorkerError(f"no reply from the {self.name} within {self.timeout_s:g} s"
                              f"{self._where()}") from None
        if line is None:
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
            raise WorkerError(f"the {self.name} exited with code {self.process.returncode}: "
                              f"{self.log_tail()}")
        try:
            reply = json.loads(line)
        except json.JSONDecodeError as exc:
            raise WorkerError(f"the {self.name} wrote a line that is not JSON: "
                              f"{line[:200]!r}") from exc
        if "error" in reply:
            raise WorkerError(f"{self.name}: {reply['error']}")
        return reply

    def _where(self) -> str:
        return f" (log: {self.log})" if self.log is not None else ""

    def request(self, command: dict, payload: bytes | memoryview | None = None) -> dict:
        """Send one command (and its binary payload); return the child's reply."""
        try:
            self.process.stdin.write(json.dumps(command).encode() + b"\n")
            if payload is not None:
                self.process.stdin.write(payload)
            self.process.stdin.flush()
        except (BrokenPipeError, ValueError, OSError) as exc:
            raise WorkerError(f"the {self.name} is gone: {self.log_tail()}") from exc
        return self.reply()

    def close(self, quit_command: dict | None = None, timeout_s: float = 20.0) -> int | None:
        """Ask the child to quit (``quit_command``, then end of input); kill it if it does
        not exit within ``timeout_s``. Returns its exit code."""
        if self.alive:
            try:
                if quit_command is not None:
                    self.process.stdin.write(json.dumps(quit_command).encode() + b"\n")
                self.process.stdin.close()
            except (BrokenPipeError, ValueError, OSError):
                pass
            try:
                self.process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self.kill()
        self._stderr.close()
        return self.process.returncode

    def kill(self) -> None:
        """End the child now (a hung or broken worker)."""
        if self.alive:
            self.process.kill()
        self.process.wait()
        try:
            self.process.stdin.close()
        except (BrokenPipeError, OSError):
            pass
