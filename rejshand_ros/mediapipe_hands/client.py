"""Run MediaPipe Hands from this interpreter: find .venv-peers' python, start
``worker.py`` in it, send frames, restart it when it dies.

MediaPipe 0.10.14 needs numpy < 2 and protobuf < 5 and our venv has numpy 2 and
protobuf 7, so MediaPipe runs in its own venv (``bash scripts/setup_peers.sh`` makes
``.venv-peers/`` at the repository root) and frames cross a pipe: one JSON header line and
the raw RGB bytes (0.9 MB for 640x480), one JSON line back.
"""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path

import numpy as np

from rejshand_ros.mediapipe_hands.line_worker import LineWorker, WorkerError

log = logging.getLogger(__name__)

WORKER_SCRIPT = Path(__file__).resolve().parent / "worker.py"
SETUP_COMMAND = "bash scripts/setup_peers.sh"
PEERS_PYTHON = Path(".venv-peers") / "bin" / "python"
START_TIMEOUT_S = 60.0  # importing mediapipe and building its graph
FRAME_TIMEOUT_S = 10.0  # one frame; a worker slower than this is taken for hung


def mediapipe_python_candidates() -> list[Path]:
    """Where ``.venv-peers/bin/python`` is looked for, in order: beside the venv this
    interpreter runs in (the repository root when the package is installed into
    ``<repo>/.venv``), then in every folder above the installed package (a source
    checkout, or a colcon install prefix inside the workspace that holds .venv-peers)."""
    candidates = [Path(sys.prefix).resolve().parent / PEERS_PYTHON]
    candidates += [folder / PEERS_PYTHON for folder in Path(__file__).resolve().parents]
    return list(dict.fromkeys(candidates))


def default_mediapipe_python() -> Path:
    """The first candidate that exists; else the first one (named in the error)."""
    candidates = mediapipe_python_candidates()
    return next((path for path in candidates if path.is_file()), candidates[0])


def missing_interpreter_message(python: Path) -> str:
    return (f"the MediaPipe interpreter {python} does not exist: create .venv-peers with "
            f"`{SETUP_COMMAND}` in the rejshand_ros repository, or set mediapipe_python "
            "to a Python with mediapipe==0.10.14")


class MediaPipeHandsWorker:
    """MediaPipe Hands (tracking mode) in a worker process.

    Args:
        python: interpreter with mediapipe 0.10.14 (``.venv-peers/bin/python``).
        max_hands: MediaPipe's max_num_hands.
        static: palm detection on every frame (MediaPipe's static_image_mode), for
            independent photos; False = tracking mode for camera streams.

    Raises:
        FileNotFoundError: ``python`` does not exist.
        WorkerError: the worker did not start (mediapipe does not import there, ...).
    """

    def __init__(self, python: Path, max_hands: int = 2, static: bool = False) -> None:
        self.python, self.max_hands, self.static = Path(python), int(max_hands), bool(static)
        if not self.python.is_file():
            raise FileNotFoundError(missing_interpreter_message(self.python))
        self.restarts = 0
        self.versions: dict = {}
        self._worker: LineWorker | None = self._start()

    def _start(self) -> LineWorker:
        argv = [str(self.python), str(WORKER_SCRIPT), "--max-hands", str(self.max_hands)]
        worker = LineWorker(argv + (["--static"] if self.static else []), "MediaPipe worker",
                            timeout_s=START_TIMEOUT_S)
        worker.timeout_s = FRAME_TIMEOUT_S
        self.versions = worker.hello.get("versions", {})
        return worker

    def _restart(self) -> None:
        """End the current worker (if any) and start a fresh one."""
        if self._worker is not None:
            self._worker.kill()
            self._worker.close()
        self._worker = None
        self.restarts += 1
        start = time.perf_counter()
        self._worker = self._start()
        log.warning("MediaPipe worker restarted (%d so far) in %.1f s", self.restarts,
                    time.perf_counter() - start)

    def _request(self, command: dict, payload: memoryview | None = None) -> dict:
        """One command; when the worker fails, restart it and raise the failure."""
        if self._worker is None or not self._worker.alive:
            self._restart()
        try:
            return self._worker.request(command, payload)
        except WorkerError as failure:
            try:
                self._restart()
            except WorkerError as again:
                raise WorkerError(f"{failure}; restarting it failed too: {again}") from again
            raise WorkerError(f"{failure} (worker restarted)") from failure

    def process(self, image: np.ndarray) -> tuple[list[dict], float]:
        """Hands in ``image`` (H, W, 3) uint8 RGB: the worker's ``hands`` list and
        MediaPipe's own processing time in ms.

        Raises:
            WorkerError: the worker crashed, hung or failed (it has been restarted; its
                tracks are gone).
        """
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise ValueError(f"image must be (H, W, 3) uint8 RGB, got {image.shape} "
                             f"{image.dtype}")
        height, width = image.shape[:2]
        pixels = memoryview(np.ascontiguousarray(image)).cast("B")
        reply = self._request({"cmd": "frame", "width": width, "height": height}, pixels)
        return reply["hands"], float(reply["process_ms"])

    def reset(self) -> None:
        """Forget MediaPipe's tracks (the next frame runs palm detection). A worker that
        is gone or fails the reset is replaced by a fresh one, which has no tracks.

        Raises:
            WorkerError: a fresh worker could not be started.
        """
        if self._worker is not None and self._worker.alive:
            try:
                self._worker.request({"cmd": "reset"})
                return
            except WorkerError as exc:
                log.warning("MediaPipe worker failed to reset (%s): restarting it", exc)
        self._restart()

    def close(self) -> None:
        if self._worker is not None:
            self._worker.close({"cmd": "quit"})
            self._worker = None
