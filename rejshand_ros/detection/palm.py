"""PalmDetector: MediaPipe's palm detection model, run in-process, giving rotated hand boxes.

    detector = PalmDetector()                 # the shipped palm_detection_full.tflite
    for d in detector.detect(frame):          # frame: (H, W, 3) uint8 RGB
        print(d.center, d.size, d.rotation_rad, d.score)

The model (Apache-2.0, from the mediapipe 0.10.14 wheel; see weights/THIRD_PARTY.md) is
trained on real photos. It sees the frame letterboxed into 192 x 192 (RGB in [0, 1]) and
regresses, per SSD anchor, a palm box and 7 palm keypoints (0: wrist centre, 2: middle
finger MCP, ...). Decoding and weighted NMS are ``detection.ssd``; the palm box becomes a
hand box as in MediaPipe's graph: rotated so the wrist -> middle-MCP line points up,
shifted towards the fingers and enlarged (:func:`palm_to_hand_box`). The palm detector
cannot tell left from right: detections carry ``Handedness.UNKNOWN`` and the pose
network decides. The TFLite runtime is ``ai-edge-litert`` (imported on first use).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np

from rejshand_ros.detection.letterbox import Letterbox
from rejshand_ros.detection.result import Detection
from rejshand_ros.detection.ssd import SsdAnchorConfig, decode_ssd, ssd_anchors, weighted_nms
from rejshand_ros.geometry.crop import upright_rotation_rad
from rejshand_ros.model.model_file import ModelFileError
from rejshand_ros.perception.hand_prediction import Handedness
from rejshand_ros.resources import package_data_path

DEFAULT_PALM_FILE = "weights/palm_detection_full.tflite"
PALM_MODEL_ID = "mediapipe_palm_detection_full_0.10.14"
NUM_PALM_KEYPOINTS = 7
WRIST_KEYPOINT = 0  # centre of the wrist
MIDDLE_MCP_KEYPOINT = 2  # middle-finger MCP
ANCHORS = SsdAnchorConfig(input_size=192, strides=(8, 16, 16, 16), anchors_per_layer=2)


def default_palm_path() -> Path:
    """The palm detection model shipped inside the package."""
    return package_data_path(*DEFAULT_PALM_FILE.split("/"))


@dataclass(frozen=True)
class PalmBoxConfig:
    """Palm box -> hand box (MediaPipe's RectTransformation after palm detection).

    shift: the box centre moves this many palm-box heights along the wrist -> middle-MCP
    direction (MediaPipe: 0.5). scale: hand box side = the palm box's longer side x scale
    (MediaPipe: 2.6 for its landmark model; ours is sized for the pose network's crops,
    the keypoint box in the upright frame x ~1.5, measured on real frames: see docs/models.md
    "Detectors")."""

    shift: float = 0.5
    scale: float = 2.6

    def __post_init__(self) -> None:
        if not (np.isfinite(self.shift) and np.isfinite(self.scale) and self.scale > 0):
            raise ValueError(f"invalid palm box settings: {self}")


def palm_to_hand_box(center: np.ndarray, width: float, height: float, wrist: np.ndarray,
                     middle_mcp: np.ndarray, config: PalmBoxConfig = PalmBoxConfig()
                     ) -> tuple[np.ndarray, float, float]:
    """A palm box (centre (2,), width, height, px) and its wrist and middle-MCP keypoints
    (px) -> (hand box centre (2,), side, rotation_rad), px.

    rotation_rad is ``upright_rotation_rad`` of wrist -> middle MCP (the crop roll that
    points it up). The centre moves ``shift x height`` along that direction (towards the
    fingers); the side is ``max(width, height) x scale``.
    """
    center = np.asarray(center, dtype=np.float64)
    axis = np.asarray(middle_mcp, dtype=np.float64) - np.asarray(wrist, dtype=np.float64)
    length = float(np.hypot(*axis))
    rotation = upright_rotation_rad(np.stack([wrist, middle_mcp]), root=0, tip=1)
    up = axis / length if length > 0 and np.isfinite(length) else np.array([0.0, -1.0])
    return (center + config.shift * float(height) * up,
            float(max(width, height) * config.scale), rotation)


def _load_interpreter(path: Path, num_threads: int):
    """The TFLite interpreter for ``path`` with its I/O checked against the palm model's
    (ModelFileError naming the file otherwise)."""
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError as exc:
        raise ModelFileError(path, "the TFLite runtime ai-edge-litert is not installed "
                             "(pip install ai-edge-litert; scripts/setup_env.sh does)") from exc
    if not path.is_file():
        raise ModelFileError(path, "palm detection model file not found")
    try:
        interpreter = Interpreter(model_path=str(path), num_threads=max(1, num_threads))
        interpreter.allocate_tensors()
    except (ValueError, RuntimeError) as exc:
        raise ModelFileError(path, f"not a readable TFLite model ({exc})") from exc
    inputs, outputs = interpreter.get_input_details(), interpreter.get_output_details()
    shapes = sorted(tuple(int(v) for v in o["shape"]) for o in outputs)
    size = ANCHORS.input_size
    want = sorted([(1, len(ssd_anchors(ANCHORS)), 4 + 2 * NUM_PALM_KEYPOINTS),
                   (1, len(ssd_anchors(ANCHORS)), 1)])
    if (len(inputs) != 1 or tuple(inputs[0]["shape"]) != (1, size, size, 3)
            or inputs[0]["dtype"] != np.float32 or shapes != want):
        raise ModelFileError(path, f"not MediaPipe's palm detection model (input "
                             f"{[tuple(i['shape']) for i in inputs]}, outputs {shapes}; "
                             f"expected (1, {size}, {size}, 3) float32 -> {want})")
    return interpreter


class PalmDetector:
    """Hands in full frames from MediaPipe's palm detection model (TFLite, CPU).

    Args:
        model_path: the .tflite file (None: the shipped ``palm_detection_full.tflite``);
            missing, corrupt or another model: ``ModelFileError`` naming it.
        score_threshold: minimum palm score (MediaPipe's default 0.5).
        max_hands: most detections returned per frame (best first).
        nms_iou: candidates overlapping a better one by IoU above this are blended into
            it (MediaPipe: 0.3).
        num_threads: CPU threads of the TFLite runtime (XNNPACK).
        box: palm box -> hand box settings.
        zoom_out_border: when a frame gives no palm, look once more with a black border
            of this fraction of the longer side on each side (0: never). The model misses
            hands that fill most of the frame (a hand close to the camera): on 568
            hand-centred 256 px real photos it found 85.6 % of the hands, with a 0.25
            border 95.6 %, either pass 97.4 % (``rejshand-eval-real``'s yardstick).
    """

    def __init__(self, model_path: str | os.PathLike | None = None,
                 score_threshold: float = 0.5, max_hands: int = 2, nms_iou: float = 0.3,
                 num_threads: int = 2, box: PalmBoxConfig = PalmBoxConfig(),
                 zoom_out_border: float = 0.25) -> None:
        if not 0.0 <= score_threshold <= 1.0:
            raise ValueError(f"score_threshold must be in [0, 1], got {score_threshold}")
        if max_hands < 1:
            raise ValueError(f"max_hands must be >= 1, got {max_hands}")
        self.model_path = Path(model_path) if model_path else default_palm_path()
        self.model_id = PALM_MODEL_ID if model_path is None else self.model_path.stem
        self._interpreter = _load_interpreter(self.model_path, num_threads)
        self._input = self._interpreter.get_input_details()[0]["index"]
        self._outputs = {int(o["shape"][-1]): o["index"]
                         for o in self._interpreter.get_output_details()}
        self.anchors = ssd_anchors(ANCHORS)
        self.score_threshold = float(score_threshold)
        self.max_hands = int(max_hands)
        self.nms_iou = float(nms_iou)
        self.box = box
        if not 0.0 <= zoom_out_border <= 2.0:
            raise ValueError(f"zoom_out_border must be in [0, 2], got {zoom_out_border}")
        self.zoom_out_border = float(zoom_out_border)
        self.last_timings_ms: dict[str, float] = {}

    @property
    def input_size(self) -> int:
        return ANCHORS.input_size

    def preprocess(self, image: np.ndarray) -> tuple[np.ndarray, Letterbox]:
        """(H, W, 3) uint8 RGB -> ((1, 192, 192, 3) float32 in [0, 1], letterbox); the
        border is black (MediaPipe's BORDER_ZERO)."""
        image = np.asarray(image)
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise ValueError(f"expected an (H, W, 3) uint8 RGB image, got "
                             f"{image.shape} {image.dtype}")
        letterbox = Letterbox.fit(image.shape[1], image.shape[0], self.input_size)
        tensor = letterbox.apply(image).astype(np.float32)[None] * np.float32(1.0 / 255.0)
        return tensor, letterbox

    def detect(self, image: np.ndarray) -> list[Detection]:
        """Hands in ``image`` ((H, W, 3) uint8 RGB), best first; empty when none. Without
        any, a second look at the frame zoomed out (``zoom_out_border``)."""
        detections = self._detect_once(image)
        if detections or self.zoom_out_border <= 0:
            return detections
        timings = self.last_timings_ms
        pad = int(round(self.zoom_out_border * max(image.shape[:2])))
        padded = cv2.copyMakeBorder(np.asarray(image), pad, pad, pad, pad,
                                    cv2.BORDER_CONSTANT, value=0)
        detections = [replace(d, center=(d.center[0] - pad, d.center[1] - pad))
                      for d in self._detect_once(padded)]
        self.last_timings_ms = {k: v + self.last_timings_ms.get(k, 0.0)
                                for k, v in timings.items()}
        return detections

    def _detect_once(self, image: np.ndarray) -> list[Detection]:
        start = time.perf_counter()
        tensor, letterbox = self.preprocess(image)
        ready = time.perf_counter()
        self._interpreter.set_tensor(self._input, tensor)
        self._interpreter.invoke()
        raw_boxes = self._interpreter.get_tensor(self._outputs[4 + 2 * NUM_PALM_KEYPOINTS])[0]
        raw_scores = self._interpreter.get_tensor(self._outputs[1])[0]
        inferred = time.perf_counter()
        candidates = decode_ssd(raw_boxes, raw_scores, self.anchors, self.input_size,
                                self.score_threshold, NUM_PALM_KEYPOINTS)
        palms = weighted_nms(candidates, self.nms_iou, self.max_hands)
        detections = [self._to_detection(palms.boxes[i], palms.keypoints[i],
                                         float(palms.scores[i]), letterbox)
                      for i in range(len(palms))]
        self.last_timings_ms = {"preprocess": (ready - start) * 1e3,
                                "network": (inferred - ready) * 1e3,
                                "decode": (time.perf_counter() - inferred) * 1e3}
        return detections

    def _to_detection(self, box: np.ndarray, keypoints: np.ndarray, score: float,
                      letterbox: Letterbox) -> Detection:
        """One decoded palm (normalised input coordinates) -> a hand Detection in image px."""
        size = self.input_size
        # normalised [0, 1] spans pixel edges; input pixel centres sit at n * size - 0.5
        center = letterbox.to_image(box[:2] * size - 0.5)
        kps = letterbox.to_image(keypoints * size - 0.5)
        width, height = box[2] * size / letterbox.scale_x, box[3] * size / letterbox.scale_y
        hand_center, side, rotation = palm_to_hand_box(
            center, width, height, kps[WRIST_KEYPOINT], kps[MIDDLE_MCP_KEYPOINT], self.box)
        return Detection(center=(float(hand_center[0]), float(hand_center[1])),
                         size=side, score=score, handedness=Handedness.UNKNOWN,
                         handedness_score=0.0, rotation_rad=rotation)
