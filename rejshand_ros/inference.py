"""Running the network: device choice and the backend/precision fast paths.

Two settings choose the path everywhere (node, CLIs, benchmarks): ``backend`` = auto |
eager | onnxruntime | compile and ``precision`` = auto | fp32 | fp16 | bf16. All paths take
uint8 RGB crops and return the same numpy dict, so callers never see the difference.
``auto`` picks the measured fast path (``rejshand-bench --suite model``): ONNX Runtime fp32
on CPU, eager fp16 on CUDA (:func:`resolve_path`).
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

log = logging.getLogger(__name__)

BACKENDS = ("auto", "eager", "onnxruntime", "compile")
PRECISIONS = ("auto", "fp32", "fp16", "bf16")
OUTPUT_NAMES = ("uv", "joints", "vertices", "presence_logit", "handedness_logit")


def select_device(requested: str = "auto", cuda_fallback: str = "warn") -> torch.device:
    """auto: CUDA when available, else CPU. cuda without a GPU: CPU with a warning
    (``cuda_fallback='warn'``) or a RuntimeError (``'refuse'``)."""
    if requested not in ("auto", "cuda", "cpu") and not requested.startswith("cuda:"):
        raise ValueError(f"device must be auto, cuda, cuda:N or cpu, got {requested!r}")
    if cuda_fallback not in ("warn", "refuse"):
        raise ValueError(f"cuda_fallback must be warn or refuse, got {cuda_fallback!r}")
    available = torch.cuda.is_available()
    if requested == "auto":
        return torch.device("cuda" if available else "cpu")
    if requested.startswith("cuda") and not available:
        if cuda_fallback == "refuse":
            raise RuntimeError("device 'cuda' requested but no CUDA device is available")
        log.warning("device 'cuda' requested but no CUDA device is available: running on CPU")
        return torch.device("cpu")
    return torch.device(requested)


def _onnxruntime_available() -> bool:
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


def resolve_path(backend: str, precision: str, device: torch.device) -> tuple[str, str]:
    """Replace ``auto`` by the fast path for ``device``; explicit choices pass through.

    precision auto: fp16 on CUDA with torch, else fp32. backend auto: eager on CUDA; on
    CPU onnxruntime for fp32 (eager when onnxruntime is not installed or the precision is
    reduced, which ONNX Runtime does not run).
    """
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    cuda = device.type == "cuda"
    if precision == "auto":
        precision = "fp16" if cuda and backend != "onnxruntime" else "fp32"
    if backend == "auto":
        backend = ("onnxruntime" if not cuda and precision == "fp32" and _onnxruntime_available()
                   else "eager")
    return backend, precision


def onnx_session(onnx_path: Path, num_threads: int, device: torch.device):
    """An ONNX Runtime session with ``num_threads`` intra-op threads (CUDA provider first
    when ``device`` is CUDA and the provider exists)."""
    try:
        import onnxruntime as ort
    except ImportError as exc:
        raise RuntimeError("backend 'onnxruntime' needs the onnxruntime package "
                           "(pip install onnxruntime)") from exc
    options = ort.SessionOptions()
    options.intra_op_num_threads = max(int(num_threads), 1)
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # No busy-waiting between runs: on a few shared cores the spinning workers would take
    # CPU from the detector, DDS and the next frame's decode.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    providers = ["CPUExecutionProvider"]
    if device.type == "cuda" and "CUDAExecutionProvider" in ort.get_available_providers():
        providers.insert(0, "CUDAExecutionProvider")
    return ort.InferenceSession(str(onnx_path), options, providers=providers)


def export_onnx_cached(module: nn.Module, input_size: int, output_names: tuple[str, ...],
                       stem: str = "model", cache_dir: str | None = None) -> Path:
    """Export ``module`` (images (B, 3, S, S) -> tuple of outputs, batch dimension dynamic)
    to ONNX once per set of weights and return the file: ``<cache>/<stem>-<hash>.onnx``,
    cache = ``cache_dir`` or ``$XDG_CACHE_HOME/rejshand_ros`` (``~/.cache/rejshand_ros``).
    The write is atomic, so concurrent processes never read a partial file."""
    cache = Path(cache_dir) if cache_dir else Path(
        os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "rejshand_ros"
    cache.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    for tensor in module.state_dict().values():
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    target = cache / f"{stem}-{digest.hexdigest()[:16]}.onnx"
    if target.exists():
        return target
    device = next(module.parameters()).device
    with tempfile.NamedTemporaryFile(dir=cache, suffix=".onnx.tmp", delete=False) as tmp:
        tmp_path = Path(tmp.name)
    try:
        torch.onnx.export(module.to("cpu"), (torch.zeros(1, 3, input_size, input_size),),
                          str(tmp_path), opset_version=17, dynamo=False,
                          input_names=["images"], output_names=list(output_names),
                          dynamic_axes={"images": {0: "batch"},
                                        **{name: {0: "batch"} for name in output_names}})
        os.replace(tmp_path, target)
    finally:
        tmp_path.unlink(missing_ok=True)
        module.to(device)
    log.info("exported ONNX model to %s", target)
    return target


class TupleOutputs(nn.Module):
    """The model with a fixed tuple of outputs (ONNX export, CUDA graphs)."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, ...]:
        out = self.model(images)
        batch = images.shape[0]
        presence = out.get("presence_logit", torch.full((batch,), 20.0, device=images.device))
        handed = out.get("handedness_logit", torch.zeros((batch,), device=images.device))
        return out["uv"], out["joints"], out["vertices"], presence, handed


class InferenceEngine:
    """uint8 crops (B, S, S, 3) -> dict of numpy outputs: uv (B,21,2) unit crop coords,
    joints (B,21,3) and vertices (B,V,3) metres in the crop frame (root-relative),
    presence (B,) and right (B,) probabilities.

    ``channels_last``: run the eager/compile model in channels-last memory format (faster
    convolutions on GPUs with tensor cores).

    ``last_timings_ms`` holds the stages of the latest call: ``normalise`` (uint8 crops ->
    normalised float tensor on the device; on CUDA only its launch) and ``network``
    (forward pass until the outputs are numpy arrays)."""

    def __init__(self, model: nn.Module, device: torch.device, backend: str = "eager",
                 precision: str = "fp32", num_threads: int = 2, reparameterize: bool = True,
                 cache_dir: str | None = None, model_path: Path | None = None,
                 channels_last: bool = False) -> None:
        backend, precision = resolve_path(backend, precision, device)
        if precision == "fp16" and device.type != "cuda":
            raise ValueError("precision fp16 needs a CUDA device (use bf16 or fp32 on CPU)")
        if backend == "onnxruntime" and precision != "fp32":
            raise ValueError("the onnxruntime backend runs fp32 only")
        if device.type == "cpu" and num_threads > 0:
            torch.set_num_threads(num_threads)
        self.device, self.backend, self.precision = device, backend, precision
        model = model.eval()
        if reparameterize and not getattr(model, "reparameterized", False):
            model.reparameterize()
        config = model.config
        self.input_size = int(config.input_size)
        self._mean = torch.tensor(config.mean, dtype=torch.float32, device=device).view(
            1, 3, 1, 1) * 255.0
        self._std = torch.tensor(config.std, dtype=torch.float32, device=device).view(
            1, 3, 1, 1) * 255.0
        self._mean_np = self._mean.cpu().numpy()
        self._inv_std_np = 1.0 / self._std.cpu().numpy()
        self._buffer: np.ndarray | None = None
        self._wrapped = TupleOutputs(model).to(device).eval()
        self._memory_format = torch.channels_last if channels_last else torch.contiguous_format
        if channels_last:
            self._wrapped = self._wrapped.to(memory_format=torch.channels_last)
        self._session = None
        self._callable = self._wrapped
        self.last_timings_ms: dict[str, float] = {}
        if backend == "compile":
            self._callable = torch.compile(self._wrapped, dynamic=True)
        elif backend == "onnxruntime":
            if not _onnxruntime_available():
                raise RuntimeError("backend 'onnxruntime' needs the onnxruntime package "
                                   "(pip install onnxruntime)")
            onnx_path = export_onnx_cached(self._wrapped, self.input_size, OUTPUT_NAMES,
                                           model_path.stem if model_path else "model",
                                           cache_dir)
            self._session = onnx_session(onnx_path, num_threads, device)

    # -- running ------------------------------------------------------------------------
    def preprocess(self, crops: np.ndarray) -> torch.Tensor:
        """(B, S, S, 3) uint8 RGB -> (B, 3, S, S) float32 normalised, on the device.

        On CPU the result shares a buffer reused by the next call with the same batch
        size (one numpy pass, no torch thread pool for a tiny op)."""
        if self.device.type == "cpu":
            tensor = torch.from_numpy(self._normalise_cpu(crops))
            return tensor.contiguous(memory_format=self._memory_format)
        tensor = torch.from_numpy(np.ascontiguousarray(crops)).to(self.device)
        tensor = tensor.permute(0, 3, 1, 2).float()
        tensor = (tensor - self._mean) / self._std
        return tensor.contiguous(memory_format=self._memory_format)

    def _normalise_cpu(self, crops: np.ndarray) -> np.ndarray:
        if self._buffer is None or self._buffer.shape[0] != crops.shape[0]:
            self._buffer = np.empty((crops.shape[0], 3, self.input_size, self.input_size),
                                    np.float32)
        np.subtract(crops.transpose(0, 3, 1, 2), self._mean_np, out=self._buffer)
        self._buffer *= self._inv_std_np
        return self._buffer

    @torch.inference_mode()
    def __call__(self, crops: np.ndarray) -> dict[str, np.ndarray]:
        if crops.ndim != 4 or crops.shape[1:] != (self.input_size, self.input_size, 3):
            raise ValueError(f"crops must be (B, {self.input_size}, {self.input_size}, 3), "
                             f"got {crops.shape}")
        start = time.perf_counter()
        images = self.preprocess(crops)
        normalised = time.perf_counter()
        if self._session is not None:
            outputs = self._session.run(None, {"images": images.cpu().numpy()})
        else:
            if self.precision == "fp32":
                result = self._callable(images)
            else:
                dtype = torch.float16 if self.precision == "fp16" else torch.bfloat16
                with torch.autocast(self.device.type, dtype=dtype):
                    result = self._callable(images)
            outputs = [tensor.float().cpu().numpy() for tensor in result]
        self.last_timings_ms = {"normalise": (normalised - start) * 1e3,
                                "network": (time.perf_counter() - normalised) * 1e3}
        uv, joints, vertices, presence, handed = outputs
        return {"uv": uv, "joints": joints, "vertices": vertices,
                "presence": 1.0 / (1.0 + np.exp(-presence)),
                "right": 1.0 / (1.0 + np.exp(-handed))}
