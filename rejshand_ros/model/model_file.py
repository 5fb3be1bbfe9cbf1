"""The model layer: network declarations and model files (``NAME.safetensors``).

Every network the package runs is declared once as a :class:`ModelKind`: its file format
name, config and network classes, metadata, named outputs (in the order of the ONNX
export and of the inference engine's tuple) and which paths run it. The pose network is
:data:`POSE_MODEL` (below); the hand detector is ``detection.model.DETECTOR_MODEL``. One
reader/writer serves both:

A model file is self-describing: its safetensors header metadata holds, under the key
``"rejshand"``, a JSON object with the format name and version, the network's config
dict, the preprocessing (input size, RGB mean/std, colour order), ``model_id``,
``training_data_id``, the storage dtype, whether the backbone was re-parameterised, and
what the kind adds (:meth:`FileMetadata.kind_header`). Tensors: ``model.<state_dict key>``
plus the kind's own. :func:`load_model` rebuilds the network from the file alone (no
download); :func:`write_model` is atomic (temp file in the same directory, fsync,
``os.replace``: :func:`atomic_write`). Every error is a :class:`ModelFileError` naming the
file.

Pose model files add the keypoint order (``"freihand21"``), ``mesh_id``, ``crop_roll``:
the crops the network was trained on, "image" (roll about the image axes) or "upright"
(wrist -> middle MCP pointing up, as a rotated detector box or an orientation-following
tracker gives them; files without it are "image"), and optionally ``mesh.faces`` (F, 3)
int64; their joint regressor (``model.head.joint_regressor``) is always float32.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np
import safetensors
import safetensors.torch
import torch

from .config import ModelConfig
from .rejshand import ReJSHand

FORMAT_VERSION = 1
_META_KEY = "rejshand"
_MODEL_PREFIX = "model."
_FACES_KEY = "mesh.faces"
CROP_ROLLS = ("image", "upright")


class ModelFileError(RuntimeError):
    """A model or training-state file is missing, corrupt or of another architecture."""

    def __init__(self, path: str | os.PathLike, problem: str) -> None:
        self.path = str(path)
        super().__init__(f"{self.path}: {problem}")


def atomic_write(path: Path, write: Callable[[Any], Any]) -> None:
    """Call ``write(fileobj)`` on a temp file next to ``path``, fsync, then rename: a
    reader (or a process killed mid-write) never sees a partial ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; model files are meant to be shared
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    try:  # make the rename itself durable
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError:
        pass  # not supported on every platform/filesystem


# --------------------------------------------------------------------------- declarations
@dataclass
class FileMetadata:
    """What every model file says about itself (besides the weights); kinds subclass it."""

    config: Any
    model_id: str = ""
    training_data_id: str = ""
    storage_dtype: str = "float32"
    reparameterized: bool = False
    format_version: int = FORMAT_VERSION

    @property
    def input_size(self) -> int:
        return self.config.input_size

    @property
    def mean(self) -> tuple[float, float, float]:
        return self.config.mean

    @property
    def std(self) -> tuple[float, float, float]:
        return self.config.std

    def kind_header(self) -> dict[str, Any]:
        """Header entries this kind adds."""
        return {}

    @classmethod
    def kind_fields(cls, raw: Mapping[str, Any]) -> dict[str, Any]:
        """Constructor arguments this kind reads back from the header ``raw``."""
        return {}

    def kind_tensors(self) -> dict[str, torch.Tensor]:
        """Tensors this kind stores besides the weights."""
        return {}

    def take_tensors(self, tensors: Mapping[str, torch.Tensor]) -> None:
        """Pick this kind's tensors out of a loaded file."""


@dataclass(frozen=True)
class ModelKind:
    """One network family on the model layer (file format, build, run, export).

    format_name: the header's ``format``. noun: how messages name it. config_type: its
    config dataclass (``from_dict`` / ``to_dict``, holding input_size, mean, std).
    network: its nn.Module class, ``network(config, pretrained=False)``; ``forward``
    returns a dict holding ``outputs``. output_fill: the value of an output that a
    configuration leaves out (so the tuple of outputs never changes shape).
    postprocess: numpy outputs -> what callers get (None: as they are). compiles: has a
    torch.compile path. fp32_keys: state-dict keys kept float32 in fp16 files.
    """

    format_name: str
    noun: str
    config_type: type
    network: type
    metadata_type: type
    outputs: tuple[str, ...]
    output_fill: Mapping[str, float] = field(default_factory=dict)
    postprocess: Callable[[dict[str, np.ndarray]], dict[str, np.ndarray]] | None = None
    compiles: bool = True
    fp32_keys: tuple[str, ...] = ()


# --------------------------------------------------------------------------- reading/writing
def write_model(kind: ModelKind, path: str | os.PathLike, model: torch.nn.Module, *,
                fp16: bool = False, **fields: Any) -> FileMetadata:
    """Write ``model`` of ``kind`` to ``path``; ``fields``: the metadata besides config,
    dtype and re-parameterisation. fp16 halves the size (``kind.fp32_keys`` stay fp32)."""
    tensors: dict[str, torch.Tensor] = {}
    for key, value in model.state_dict().items():
        value = value.detach().cpu()
        if fp16 and value.is_floating_point() and key not in kind.fp32_keys:
            value = value.to(torch.float16)
        tensors[_MODEL_PREFIX + key] = value.contiguous()
    meta = kind.metadata_type(config=model.config,
                              storage_dtype="float16" if fp16 else "float32",
                              reparameterized=bool(getattr(model, "reparameterized", False)),
                              **fields)
    tensors.update(meta.kind_tensors())
    config = meta.config
    header = {"format": kind.format_name, "format_version": meta.format_version,
              "config": config.to_dict(), "input_size": config.input_size,
              "mean": list(config.mean), "std": list(config.std), "color_order": "RGB",
              "model_id": meta.model_id, "training_data_id": meta.training_data_id,
              "storage_dtype": meta.storage_dtype, "reparameterized": meta.reparameterized,
              **meta.kind_header()}
    data = safetensors.torch.save(tensors, metadata={
        "format": "pt", _META_KEY: json.dumps(header, sort_keys=True)})
    atomic_write(Path(path), lambda f: f.write(data))
    return meta


def read_metadata(kind: ModelKind, path: str | os.PathLike) -> FileMetadata:
    """Read only the header metadata of a ``kind`` file (cheap: no weights, no build)."""
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(path, f"{kind.noun} file not found")
    try:
        with safetensors.safe_open(str(path), framework="pt") as f:
            header = f.metadata()
    except Exception as exc:
        raise ModelFileError(path, f"unreadable safetensors file (truncated or corrupt?): "
                                   f"{exc}") from exc
    if not header or _META_KEY not in header:
        raise ModelFileError(path, f"not a rejshand model file (no 'rejshand' metadata in "
                                   f"the safetensors header; expected a {kind.noun})")
    try:
        raw = json.loads(header[_META_KEY])
    except json.JSONDecodeError as exc:
        raise ModelFileError(path, f"corrupt rejshand metadata: {exc}") from exc
    if raw.get("format") != kind.format_name:
        raise ModelFileError(path, f"format {raw.get('format')!r} is not a {kind.noun} "
                                   f"(expected {kind.format_name!r})")
    version = raw.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise ModelFileError(path, f"format version {version!r} is not supported "
                                   f"(this package reads <= {FORMAT_VERSION})")
    try:
        config = kind.config_type.from_dict(raw["config"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelFileError(path, f"invalid {kind.noun} config: {exc}") from exc
    return kind.metadata_type(
        config=config, model_id=raw.get("model_id", ""),
        training_data_id=raw.get("training_data_id", ""),
        storage_dtype=raw.get("storage_dtype", "float32"),
        reparameterized=bool(raw.get("reparameterized", False)), format_version=version,
        **kind.metadata_type.kind_fields(raw))


def _restore_weights(path: Path, model: torch.nn.Module,
                     tensors: dict[str, torch.Tensor]) -> None:
    """Load the ``model.``-prefixed tensors into ``model``; ModelFileError naming missing,
    unexpected and mis-shaped keys when the file is of another architecture."""
    state = {k[len(_MODEL_PREFIX):]: v for k, v in tensors.items()
             if k.startswith(_MODEL_PREFIX)}
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    wrong = sorted(k for k in set(expected) & set(state)
                   if tuple(expected[k].shape) != tuple(state[k].shape))
    if missing or unexpected or wrong:
        parts = [f"{name} {keys[:3]}{' ...' if len(keys) > 3 else ''} ({len(keys)})"
                 for name, keys in (("missing", missing), ("unexpected", unexpected),
                                    ("shape mismatch", wrong)) if keys]
        raise ModelFileError(path, "weights do not fit the architecture in its metadata "
                                   "(other architecture?): " + "; ".join(parts))
    model.load_state_dict(state)


def load_model(kind: ModelKind, path: str | os.PathLike,
               device: str | torch.device = "cpu") -> tuple[torch.nn.Module, FileMetadata]:
    """Rebuild a ``kind`` network from ``path`` alone: (network in eval mode, metadata)."""
    path = Path(path)
    meta = read_metadata(kind, path)
    try:
        tensors = safetensors.torch.load_file(str(path), device="cpu")
    except Exception as exc:
        raise ModelFileError(path, f"cannot read tensors (truncated or corrupt?): "
                                   f"{exc}") from exc
    try:
        model = kind.network(meta.config, pretrained=False)
    except Exception as exc:
        raise ModelFileError(path, f"cannot build the {kind.noun} it describes "
                                   f"(backbone {meta.config.backbone!r}): {exc}") from exc
    if meta.reparameterized:
        model.reparameterize()
    _restore_weights(path, model, tensors)
    meta.take_tensors(tensors)
    return model.to(device).eval(), meta


# --------------------------------------------------------------------------- the pose network
@dataclass
class ModelMetadata(FileMetadata):
    """What a pose model file says about itself (besides the weights)."""

    keypoint_order: str = "freihand21"
    mesh_id: str = ""
    crop_roll: str = "image"
    faces: torch.Tensor | None = field(default=None, repr=False)

    def kind_header(self) -> dict[str, Any]:
        return {"keypoint_order": self.keypoint_order, "mesh_id": self.mesh_id,
                "crop_roll": self.crop_roll, "has_faces": self.faces is not None}

    @classmethod
    def kind_fields(cls, raw: Mapping[str, Any]) -> dict[str, Any]:
        return {"keypoint_order": raw.get("keypoint_order", ""),
                "mesh_id": raw.get("mesh_id", ""), "crop_roll": raw.get("crop_roll", "image")}

    def kind_tensors(self) -> dict[str, torch.Tensor]:
        return {} if self.faces is None else {_FACES_KEY: self.faces.contiguous()}

    def take_tensors(self, tensors: Mapping[str, torch.Tensor]) -> None:
        if _FACES_KEY in tensors:
            self.faces = tensors[_FACES_KEY]


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def pose_probabilities(raw: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The pose network's logits -> ``presence`` and ``right`` probabilities (B,)."""
    return {"uv": raw["uv"], "joints": raw["joints"], "vertices": raw["vertices"],
            "presence": _sigmoid(raw["presence_logit"]),
            "right": _sigmoid(raw["handedness_logit"])}


#: The pose network. Without a presence / handedness head its logit is 20 (present) / 0.
POSE_MODEL = ModelKind(
    format_name="rejshand-model", noun="pose model", config_type=ModelConfig,
    network=ReJSHand, metadata_type=ModelMetadata,
    outputs=("uv", "joints", "vertices", "presence_logit", "handedness_logit"),
    output_fill={"presence_logit": 20.0, "handedness_logit": 0.0},
    postprocess=pose_probabilities, fp32_keys=("head.joint_regressor",))


def save_model_file(path: str | os.PathLike, model: ReJSHand, *, mesh_id: str,
                    keypoint_order: str = "freihand21", training_data_id: str = "",
                    model_id: str = "", faces: Any = None,
                    fp16: bool = False, crop_roll: str = "image") -> ModelMetadata:
    """Write the pose network ``model`` to ``path`` (.safetensors); fp16 halves the size
    (the joint regressor stays fp32). ``crop_roll``: "image" or "upright", the crops it
    was trained on (module doc). ``faces``: (F, 3) mesh triangles to store with it."""
    if crop_roll not in CROP_ROLLS:
        raise ValueError(f"crop_roll must be image or upright, got {crop_roll!r}")
    faces_t = None
    if faces is not None:
        faces_t = torch.as_tensor(np.array(faces), dtype=torch.int64)
        if faces_t.ndim != 2 or faces_t.shape[1] != 3:
            raise ValueError(f"faces must have shape (F, 3), got {tuple(faces_t.shape)}")
    return write_model(POSE_MODEL, path, model, fp16=fp16, keypoint_order=keypoint_order,
                       mesh_id=mesh_id, training_data_id=training_data_id,
                       model_id=model_id, crop_roll=crop_roll, faces=faces_t)


def read_model_metadata(path: str | os.PathLike) -> ModelMetadata:
    """A pose model file's header metadata (cheap: no weights, no model build; no faces)."""
    return read_metadata(POSE_MODEL, path)


def load_model_file(path: str | os.PathLike,
                    device: str | torch.device = "cpu") -> tuple[ReJSHand, ModelMetadata]:
    """Rebuild the pose network from ``path`` alone; returns (model in eval mode, metadata)."""
    return load_model(POSE_MODEL, path, device)
