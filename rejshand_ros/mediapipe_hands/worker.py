"""MediaPipe Hands 0.10.14 on camera frames, run inside .venv-peers (not our venv).

Started by ``rejshand_ros.mediapipe_hands.client`` as
``.venv-peers/bin/python worker.py --max-hands N [--static]``; imports only the standard
library, numpy and mediapipe (never rejshand_ros: numpy 1 and protobuf 4 live here).
Uses the legacy ``mp.solutions.hands.Hands`` in tracking mode (palm detection while fewer
than N hands are tracked, landmarks on the ROI from the previous frame), model_complexity 1;
``--static`` runs palm detection on every frame (independent photos: ``rejshand-label``).

Line protocol (one JSON object per line; see ``rejshand_ros.mediapipe_hands.line_worker``): the worker
first prints ``{"ready": true, "versions": {...}}``; then, per command on stdin:

- ``{"cmd": "frame", "width": W, "height": H}`` followed by exactly W*H*3 bytes of
  row-major RGB -> ``{"process_ms": float, "hands": [...]}``, one entry per hand:
  ``uv`` 21 x [u, v] pixels (MediaPipe's normalised x * W, y * H), ``world`` 21 x
  [x, y, z] metres (MediaPipe's world landmarks: origin near the hand's centre, x right,
  y down, z away from the camera), ``label`` "Left" / "Right" as MediaPipe gives it
  (it assumes a mirrored, selfie image) and ``score`` its probability;
- ``{"cmd": "reset"}`` -> ``{"reset": true}``: forget the tracks (a new sequence);
- ``{"cmd": "quit"}`` (or end of input): exit.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import mediapipe as mp
import numpy as np


def make_hands(max_hands: int, static: bool = False):
    return mp.solutions.hands.Hands(static_image_mode=static, max_num_hands=max_hands,
                                    model_complexity=1)


def read_exactly(stream, size: int) -> bytes:
    """``size`` bytes from ``stream`` (fewer only at end of input)."""
    chunks, left = [], size
    while left > 0:
        chunk = stream.read(left)
        if not chunk:
            break
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def hands_of(result, width: int, height: int) -> list[dict]:
    """MediaPipe's result -> the protocol's list of hands."""
    hands = []
    for image, world, handedness in zip(result.multi_hand_landmarks or [],
                                        result.multi_hand_world_landmarks or [],
                                        result.multi_handedness or []):
        best = handedness.classification[0]
        hands.append({"uv": [[p.x * width, p.y * height] for p in image.landmark],
                      "world": [[p.x, p.y, p.z] for p in world.landmark],
                      "label": best.label, "score": float(best.score)})
    return hands


def process_frame(hands, command: dict, stdin) -> dict:
    width, height = int(command["width"]), int(command["height"])
    data = read_exactly(stdin, width * height * 3)
    if len(data) != width * height * 3:
        raise EOFError(f"frame cut short: {len(data)} of {width * height * 3} bytes")
    image = np.frombuffer(data, np.uint8).reshape(height, width, 3)
    start = time.perf_counter()
    result = hands.process(image)
    elapsed = (time.perf_counter() - start) * 1e3
    return {"process_ms": elapsed, "hands": hands_of(result, width, height)}


def serve(max_hands: int, stdin, stdout, static: bool = False) -> None:
    def reply(obj: dict) -> None:
        stdout.write(json.dumps(obj).encode() + b"\n")
        stdout.flush()

    hands = make_hands(max_hands, static)
    reply({"ready": True, "versions": {"mediapipe": mp.__version__, "numpy": np.__version__}})
    try:
        while True:
            line = stdin.readline()
            if not line:
                break
            command = json.loads(line)
            if command["cmd"] == "quit":
                break
            if command["cmd"] == "frame":
                reply(process_frame(hands, command, stdin))
            elif command["cmd"] == "reset":
                hands.close()
                hands = make_hands(max_hands, static)
                reply({"reset": True})
            else:
                reply({"error": f"unknown command {command['cmd']!r}"})
    finally:
        hands.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-hands", type=int, default=2)
    parser.add_argument("--static", action="store_true",
                        help="palm detection on every frame (independent images)")
    args = parser.parse_args()
    # the protocol gets the real stdout; anything a library prints lands on stderr
    protocol = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    serve(args.max_hands, sys.stdin.buffer, protocol, args.static)
    return 0


if __name__ == "__main__":
    sys.exit(main())
