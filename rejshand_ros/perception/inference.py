"""Running a network: device choice, the backend/precision paths, the ONNX export.

One engine (:class:`InferenceEngine`) runs every network declared on the model layer
(``model.model_file.ModelKind``: the pose network, the hand detector), with named outputs.
Two settings choose the path everywhere (node, CLIs, benchmarks, ``PredictorConfig``,
``HandDetector``): ``backend`` = auto | eager | onnxruntime | compile and ``precision`` =
auto | fp32 | fp16 | bf16; the backend's default is :data:`DEFAULT_BACKEND` (auto)
everywhere. All paths give the same named outputs, so callers never see the difference.
``auto`` picks the measured fast path (``rejshand-bench --suite model``): ONNX Runtime fp32
on CPU, eager fp16 on CUDA (:func:`resolve_path`). ONNX files are written by one exporter
(:func:`export_onnx`: ``rejshand-model export-onnx``, the engine's cache, the benchmark).
"""

from __future__ import annotations

import hashlib
import inspect
import io
import logging
import os
import time
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn

from rejshand_ros.model.model_file import ModelKind, atomic_write

log = logging.getLogger(__name__)

BACKENDS = ("auto", "eager", "onnxruntime", "compile")
PRECISIONS = ("auto", "fp32", "fp16", "bf16")
DEFAULT_BACKEND = "auto"


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


class TupleOutputs(nn.Module):
    """A network with its output dict as the tuple ``names`` (ONNX export, CUDA graphs);
    an output the network does not produce is ``fill[name]`` for every image (B,)."""

    def __init__(self, model: nn.Module, names: Sequence[str],
                 fill: Mapping[str, float] | None = None) -> None:
        super().__init__()
        self.model = model
        self.names = tuple(names)
        self.fill = dict(fill or {})

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, ...]:
        out = self.model(images)
        return tuple(out[name] if name in out or name not in self.fill else
                     torch.full((images.shape[0],), self.fill[name], device=images.device)
                     for name in self.names)


def export_onnx(module: nn.Module, path: Path, input_size: int,
                output_names: Sequence[str] | None, opset: int = 17,
                example: torch.Tensor | None = None) -> Path:
    """Export ``module`` (images (B, 3, S, S) -> tensor or tuple of tensors) to ONNX at
    ``path``: legacy (TorchScript) exporter, input ``images``, batch axis dynamic (traced
    on the CPU with ``example``, default zeros at batch 1; the module is moved back
    afterwards). The write is atomic, so a concurrent reader never sees a partial file."""
    names = list(output_names or ())
    device = next(module.parameters()).device
    buffer = io.BytesIO()
    try:
        with warnings.catch_warnings():  # legacy-exporter deprecation, tracer notes
            warnings.simplefilter("ignore")
            traced = (torch.zeros(1, 3, input_size, input_size) if example is None
                      else example.cpu())
            torch.onnx.export(module.to("cpu"), (traced,),
                              buffer, opset_version=opset, dynamo=False,
                              input_names=["images"], output_names=names or None,
                              dynamic_axes={"images": {0: "batch"},
                                            **{name: {0: "batch"} for name in names}})
    finally:
        module.to(device)
    atomic_write(Path(path), lambda f: f.write(buffer.getbuffer()))
    return Path(path)


def onnx_cache_key(module: nn.Module, input_size: int,
                   output_names: Sequence[str]) -> str:
    """What an ONNX export of ``module`` depends on, hashed: the source of every module
    class in it (a code change, e.g. a faster attention, re-exports), the input size, the
    output names, the torch version, and the state dict's names, shapes, dtypes and
    values."""
    digest = hashlib.sha256()
    classes = {type(m) for m in module.modules()}
    for cls in sorted(classes, key=lambda c: f"{c.__module__}.{c.__qualname__}"):
        digest.update(f"{cls.__module__}.{cls.__qualname__}\n".encode())
        try:
            digest.update(inspect.getsource(cls).encode())
        except (OSError, TypeError):  # no source (built in, compiled): its name stands
            pass
    digest.update(f"{input_size}|{','.join(output_names)}|{torch.__version__}".encode())
    for name, tensor in module.state_dict().items():
        digest.update(f"{name}|{tuple(tensor.shape)}|{tensor.dtype}".encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()[:16]


def export_onnx_cached(module: nn.Module, input_size: int, output_names: Sequence[str],
                       stem: str = "model", cache_dir: str | None = None) -> Path:
    """:func:`export_onnx` once per network, code and input size
    (:func:`onnx_cache_key`): ``<cache>/<stem>-<key>.onnx``, cache = ``cache_dir`` or
    ``$XDG_CACHE_HOME/rejshand_ros`` (``~/.cache/rejshand_ros``)."""
    cache = Path(cache_dir) if cache_dir else Path(
        os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "rejshand_ros"
    target = cache / f"{stem}-{onnx_cache_key(module, input_size, output_names)}.onnx"
    if target.exists():
        return target
    export_onnx(module, target, input_size, output_names)
    log.info("exported ONNX model to %s", target)
    return target


class InferenceEngine:
    """One network of a declared ``kind`` on ``device``, on the resolved backend/precision.

    :meth:`run`: normalised images (B, 3, S, S) float32 on the device -> the kind's named
    outputs (float32 tensors: on the device for eager/compile, on the CPU for ONNX
    Runtime). Calling the engine: (B, S, S, 3) uint8 RGB -> :meth:`preprocess` (the
    config's mean/std) -> :meth:`run` -> numpy, through the kind's postprocessing (the
    pose network: uv (B,21,2) unit crop coords, joints (B,21,3) and vertices (B,V,3)
    metres in the crop frame, root-relative, presence (B,) and right (B,) probabilities).

    ``num_threads``: CPU threads of torch (0: leave torch's setting) and of ONNX Runtime
    (0: 2). ``channels_last``: run the eager/compile network in channels-last memory
    format (faster convolutions on GPUs with tensor cores). ``name``: the stem of the
    cached ONNX export.

    ``last_timings_ms`` holds the stages of the latest call: ``normalise`` (uint8 batch ->
    normalised float tensor on the device; on CUDA only its launch) and ``network``
    (forward pass until the outputs are numpy arrays)."""

    def __init__(self, model: nn.Module, kind: ModelKind, device: torch.device,
                 backend: str = DEFAULT_BACKEND, precision: str = "fp32",
                 num_threads: int = 2, reparameterize: bool = True,
                 cache_dir: str | None = None, name: str = "model",
                 channels_last: bool = False) -> None:
        if backend == "compile" and not kind.compiles:
            raise ValueError(f"the {kind.noun} runs backend auto, eager or onnxruntime")
        backend, precision = resolve_path(backend, precision, device)
        if precision == "fp16" and device.type != "cuda":
            raise ValueError("precision fp16 needs a CUDA device (use bf16 or fp32 on CPU)")
        if backend == "onnxruntime" and precision != "fp32":
            raise ValueError("the onnxruntime backend runs fp32 only")
        if device.type == "cpu" and num_threads > 0:
            torch.set_num_threads(num_threads)
        self.kind, self.device, self.backend, self.precision = kind, device, backend, precision
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
        wrapped = TupleOutputs(model, kind.outputs, kind.output_fill).to(device).eval()
        self._memory_format = torch.channels_last if channels_last else torch.contiguous_format
        if channels_last:
            wrapped = wrapped.to(memory_format=torch.channels_last)
        self._session = None
        #: the forward pass, images -> tuple of outputs (the benchmark captures CUDA graphs
        #: of it)
        self.network = wrapped
        self.last_timings_ms: dict[str, float] = {}
        if backend == "compile":
            self.network = torch.compile(wrapped, dynamic=True)
        elif backend == "onnxruntime":
            if not _onnxruntime_available():
                raise RuntimeError("backend 'onnxruntime' needs the onnxruntime package "
                                   "(pip install onnxruntime)")
            onnx_path = export_onnx_cached(wrapped, self.input_size, kind.outputs, name,
                                           cache_dir)
            self._session = onnx_session(onnx_path, num_threads or 2, device)

    # -- running ------------------------------------------------------------------------
    def preprocess(self, batch: np.ndarray) -> torch.Tensor:
        """(B, S, S, 3) uint8 RGB -> (B, 3, S, S) float32 normalised, on the device.

        On CPU the result shares a buffer reused by the next call with the same batch
        size (one numpy pass, no torch thread pool for a tiny op)."""
        if self.device.type == "cpu":
            tensor = torch.from_numpy(self._normalise_cpu(batch))
            return tensor.contiguous(memory_format=self._memory_format)
        tensor = torch.from_numpy(np.ascontiguousarray(batch)).to(self.device)
        tensor = tensor.permute(0, 3, 1, 2).float()
        tensor = (tensor - self._mean) / self._std
        return tensor.contiguous(memory_format=self._memory_format)

    def _normalise_cpu(self, batch: np.ndarray) -> np.ndarray:
        if self._buffer is None or self._buffer.shape[0] != batch.shape[0]:
            self._buffer = np.empty((batch.shape[0], 3, self.input_size, self.input_size),
                                    np.float32)
        np.subtract(batch.transpose(0, 3, 1, 2), self._mean_np, out=self._buffer)
        self._buffer *= self._inv_std_np
        return self._buffer

    @torch.inference_mode()
    def run(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        """Normalised images (B, 3, S, S) -> the kind's named outputs (see the class)."""
        if self._session is not None:
            arrays = self._session.run(None, {"images": images.cpu().numpy()})
            return self.named([torch.from_numpy(array) for array in arrays])
        if self.precision == "fp32":
            return self.named(self.network(images))
        dtype = torch.float16 if self.precision == "fp16" else torch.bfloat16
        with torch.autocast(self.device.type, dtype=dtype):
            return self.named(self.network(images))

    def named(self, outputs: Sequence[torch.Tensor]) -> dict[str, torch.Tensor]:
        """The network's tuple of outputs -> {name: float32 tensor}."""
        return {name: tensor.float() for name, tensor in zip(self.kind.outputs, outputs)}

    def to_numpy(self, outputs: Mapping[str, torch.Tensor]) -> dict[str, np.ndarray]:
        """Named outputs -> numpy on the CPU, through the kind's postprocessing."""
        arrays = {name: tensor.cpu().numpy() for name, tensor in outputs.items()}
        return self.kind.postprocess(arrays) if self.kind.postprocess else arrays

    @torch.inference_mode()
    def __call__(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        if batch.ndim != 4 or batch.shape[1:] != (self.input_size, self.input_size, 3):
            raise ValueError(f"crops must be (B, {self.input_size}, {self.input_size}, 3), "
                             f"got {batch.shape}")
        start = time.perf_counter()
        images = self.preprocess(batch)
        normalised = time.perf_counter()
        outputs = self.to_numpy(self.run(images))
        self.last_timings_ms = {"normalise": (normalised - start) * 1e3,
                                "network": (time.perf_counter() - normalised) * 1e3}
        return outputs
