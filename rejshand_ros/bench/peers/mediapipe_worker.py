"""MediaPipe Hands 0.10.14 on benchmark frames, run inside .venv-peers (not our venv).

Started by ``rejshand_ros.bench.peers_suite`` as
``.venv-peers/bin/python mediapipe_worker.py --frames FRAMES.npz --threads N``; imports only
the standard library, numpy, cv2, mediapipe and tflite_runtime (ai_edge_litert on Python
3.12, which tflite-runtime has no wheel for; same Interpreter) -- never rejshand_ros.
``FRAMES.npz`` holds ``images`` (N, H, W, 3) uint8 RGB.

Line protocol (one JSON object per line): the worker first prints
``{"ready": true, "versions": {...}}``; then, per line on stdin:

- ``{"cmd": "frame", "index": i}`` -> ``{"index", "full_ms", "hands", "landmark_ms",
  "landmark_agreement_px"}``: ``full_ms`` is one ``Hands.process`` call (the full
  pipeline in tracking mode: palm detection while fewer than max_num_hands are tracked,
  landmarks on the ROI from the previous frame); ``hands`` the landmarks in pixels
  (per hand, 21 x [u, v]); ``landmark_ms`` one invoke of the hand landmark TFLite model
  alone (XNNPACK, ``--threads``) on a 224x224 crop placed as MediaPipe places it (from the
  first hand's landmarks), or null without a hand; ``landmark_agreement_px`` the mean
  distance between that model's landmarks and the full pipeline's (a check that the
  model alone ran on the same hand), or null;
- ``{"cmd": "reset"}`` -> ``{"reset": true}``: forget the tracks (a new sequence);
- ``{"cmd": "quit"}`` (or end of input): exit.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time

import cv2
import mediapipe as mp
import numpy as np

try:
    from tflite_runtime.interpreter import Interpreter
except ModuleNotFoundError:  # Python 3.12: tflite-runtime's successor
    from ai_edge_litert.interpreter import Interpreter

LANDMARK_MODEL = os.path.join(os.path.dirname(mp.__file__), "modules", "hand_landmark",
                              "hand_landmark_full.tflite")
CROP = 224
ROI_SCALE, ROI_SHIFT_Y = 2.0, -0.1  # MediaPipe's hand landmarks -> next ROI
WRIST, INDEX_MCP, MIDDLE_MCP, RING_MCP = 0, 5, 9, 13
PALM_JOINTS = (0, 1, 2, 3, 5, 6, 9, 10, 13, 14, 17, 18)  # HandLandmarksToRectCalculator


def roi_from_landmarks(uv: np.ndarray) -> tuple[np.ndarray, float, float]:
    """MediaPipe's hand ROI from 21 landmarks (pixels): (centre px, side px, rotation rad).

    As HandLandmarksToRectCalculator + RectTransformationCalculator do it: the rotation
    turns wrist -> (middle MCP + mean(index, ring MCP)) / 2 upright; the box of the palm
    landmarks in that rotated frame is shifted 10 % of its height towards the fingers,
    squared on its long side and scaled by 2.
    """
    wrist = uv[WRIST]
    toward = 0.5 * (0.5 * (uv[INDEX_MCP] + uv[RING_MCP]) + uv[MIDDLE_MCP])
    angle = math.pi / 2 - math.atan2(-(toward[1] - wrist[1]), toward[0] - wrist[0])
    angle = (angle + math.pi) % (2 * math.pi) - math.pi
    c, s = math.cos(angle), math.sin(angle)
    points = uv[list(PALM_JOINTS)]
    axis_center = 0.5 * (points.min(0) + points.max(0))
    rel = points - axis_center
    projected = np.stack([rel[:, 0] * c + rel[:, 1] * s, -rel[:, 0] * s + rel[:, 1] * c], 1)
    lo, hi = projected.min(0), projected.max(0)
    mid = 0.5 * (lo + hi)
    center = axis_center + np.array([mid[0] * c - mid[1] * s, mid[0] * s + mid[1] * c])
    width, height = hi - lo
    center = center + np.array([-height * ROI_SHIFT_Y * s, height * ROI_SHIFT_Y * c])
    return center, float(max(width, height)) * ROI_SCALE, angle


def crop_affine(center: np.ndarray, side: float, angle: float) -> np.ndarray:
    """2x3 affine: image pixels -> CROP x CROP crop of the rotated square ROI."""
    scale = CROP / side
    c, s = math.cos(angle), math.sin(angle)
    rotation = np.array([[c, s], [-s, c]]) * scale
    offset = np.array([CROP / 2, CROP / 2]) - rotation @ center
    return np.hstack([rotation, offset[:, None]])


class LandmarkModel:
    """hand_landmark_full.tflite alone: (224, 224, 3) float [0, 1] RGB -> 21 landmarks."""

    def __init__(self, threads: int) -> None:
        self.interpreter = Interpreter(model_path=LANDMARK_MODEL, num_threads=threads)
        self.interpreter.allocate_tensors()
        self.input = self.interpreter.get_input_details()[0]
        outputs = self.interpreter.get_output_details()
        self.landmarks = next(o for o in outputs if o["name"] == "Identity")

    def __call__(self, crop: np.ndarray) -> tuple[np.ndarray, float]:
        """(21, 2) landmarks in crop pixels and the invoke time in ms."""
        self.interpreter.set_tensor(self.input["index"], crop[None])
        start = time.perf_counter()
        self.interpreter.invoke()
        elapsed = (time.perf_counter() - start) * 1e3
        raw = self.interpreter.get_tensor(self.landmarks["index"]).reshape(21, 3)
        return raw[:, :2].astype(np.float64), elapsed


def landmark_alone(model: LandmarkModel, image: np.ndarray, uv: np.ndarray
                   ) -> tuple[float, float]:
    """Time the landmark model on MediaPipe's crop of this hand; (ms, agreement px)."""
    affine = crop_affine(*roi_from_landmarks(uv))
    crop = cv2.warpAffine(image, affine, (CROP, CROP), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT)
    points, elapsed = model(crop.astype(np.float32) / 255.0)
    back = cv2.invertAffineTransform(affine)
    full = points @ back[:, :2].T + back[:, 2]
    return elapsed, float(np.linalg.norm(full - uv, axis=1).mean())


def process(hands, model: LandmarkModel, image: np.ndarray) -> dict:
    start = time.perf_counter()
    result = hands.process(image)
    full_ms = (time.perf_counter() - start) * 1e3
    height, width = image.shape[:2]
    found = [np.array([[p.x * width, p.y * height] for p in hand.landmark])
             for hand in (result.multi_hand_landmarks or [])]
    landmark_ms = agreement = None
    if found:
        landmark_ms, agreement = landmark_alone(model, image, found[0])
    return {"full_ms": full_ms, "hands": [uv.tolist() for uv in found],
            "landmark_ms": landmark_ms, "landmark_agreement_px": agreement}


def serve(images: np.ndarray, threads: int, stdin=sys.stdin, stdout=sys.stdout) -> None:
    def reply(obj: dict) -> None:
        stdout.write(json.dumps(obj) + "\n")
        stdout.flush()

    def make_hands():
        return mp.solutions.hands.Hands(static_image_mode=False, max_num_hands=2,
                                        model_complexity=1)

    model = LandmarkModel(threads)
    hands = make_hands()
    reply({"ready": True, "versions": {"mediapipe": mp.__version__, "opencv": cv2.__version__,
                                       "numpy": np.__version__},
           "landmark_model": os.path.basename(LANDMARK_MODEL)})
    try:
        for line in stdin:
            command = json.loads(line)
            if command["cmd"] == "quit":
                break
            if command["cmd"] == "reset":
                hands.close()
                hands = make_hands()
                reply({"reset": True})
            elif command["cmd"] == "frame":
                index = int(command["index"])
                reply({"index": index, **process(hands, model, images[index])})
            else:
                reply({"error": f"unknown command {command['cmd']!r}"})
    finally:
        hands.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", required=True, help=".npz with images (N, H, W, 3) RGB")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    cv2.setNumThreads(args.threads)  # as the bench process does for our pipeline
    with np.load(args.frames) as data:
        images = np.ascontiguousarray(data["images"])
    serve(images, args.threads)
    return 0


if __name__ == "__main__":
    sys.exit(main())
