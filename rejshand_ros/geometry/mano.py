"""Load a user-supplied MANO_RIGHT.pkl / MANO_LEFT.pkl without chumpy or scipy.

The official MANO files (non-commercial licence, never shipped with this project) are
Python-2 protocol-2 pickles holding chumpy ``Ch`` objects and scipy sparse matrices.
Unpickling them normally imports chumpy (broken on numpy >= 1.24) and, like any
pickle, can run arbitrary code. Here a restricted unpickler resolves only a fixed set
of globals: chumpy classes become inert stand-ins that keep their state (the array is
under key ``'x'``), scipy CSC/CSR matrices become dense numpy arrays, numpy's array
reconstruction helpers and a few plain builtins are allowed; any other global raises
:class:`UnsafePickleError` before anything is called.
"""

from __future__ import annotations

import os
import pickle
import re
from dataclasses import dataclass
from typing import Any, BinaryIO, Dict, Optional, Tuple, Union

import numpy as np

from rejshand_ros.geometry.regressor import mano_regressor_freihand
from rejshand_ros.geometry.keypoints import (MANO_MESH_ID, MANO_NUM_FACES, MANO_NUM_JOINTS,
                                             MANO_NUM_VERTICES)

try:  # numpy >= 2 (also present as an alias in late 1.x)
    from numpy._core import multiarray as _np_multiarray
    from numpy._core import numeric as _np_numeric
except ImportError:  # pragma: no cover - numpy 1.x
    from numpy.core import multiarray as _np_multiarray  # type: ignore[no-redef]
    from numpy.core import numeric as _np_numeric  # type: ignore[no-redef]

PathLike = Union[str, "os.PathLike[str]"]

REQUIRED_KEYS: Tuple[str, ...] = (
    "v_template", "f", "J_regressor", "weights", "posedirs", "shapedirs", "kintree_table",
)


class UnsafePickleError(pickle.UnpicklingError):
    """The pickle references a global that the restricted loader does not allow."""


# --- stand-ins ----------------------------------------------------------------------


def _merge_state(state: Any) -> Dict[str, Any]:
    """Pickled object state: a dict, or (dict or None, slots dict or None)."""
    if isinstance(state, dict):
        return dict(state)
    if isinstance(state, tuple) and len(state) == 2:
        merged: Dict[str, Any] = {}
        for part in state:
            if part is not None:
                if not isinstance(part, dict):
                    raise ValueError(f"unexpected pickled state part {type(part).__name__}")
                merged.update(part)
        return merged
    if state is None:
        return {}
    raise ValueError(f"unexpected pickled state {type(state).__name__}")


class _InertStandIn:
    """Base of the stand-ins: constructing one never runs foreign code."""

    source_class = "?"

    def __new__(cls, *args: Any, **kwargs: Any) -> "_InertStandIn":
        return object.__new__(cls)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass


class ChumpyStandIn(_InertStandIn):
    """A chumpy object's pickled state; ``array`` is the value stored under 'x'."""

    source_class = "chumpy.ch.Ch"

    def __setstate__(self, state: Any) -> None:
        self.state = _merge_state(state)

    @property
    def array(self) -> np.ndarray:
        state = getattr(self, "state", {})
        if "x" not in state:
            raise ValueError(
                f"{self.source_class} object has no stored array under 'x' (keys: "
                f"{sorted(state)}); only leaf chumpy arrays can be read without chumpy"
            )
        return _to_array(state["x"])


class SparseStandIn(_InertStandIn):
    """A scipy CSC/CSR matrix rebuilt as a dense array (``dense``) from its state."""

    source_class = "scipy.sparse.csc_matrix"
    compressed_axis = 1  # CSC compresses columns; CSR rows

    def __setstate__(self, state: Any) -> None:
        d = _merge_state(state)
        missing = [k for k in ("data", "indices", "indptr") if k not in d]
        shape = d.get("_shape", d.get("shape"))
        if missing or shape is None:
            raise ValueError(f"{self.source_class}: pickled state lacks {missing or ['_shape']}")
        self.dense = _compressed_to_dense(
            _to_array(d["data"]), _to_array(d["indices"]), _to_array(d["indptr"]),
            tuple(int(n) for n in shape), self.compressed_axis, self.source_class,
        )


def _compressed_to_dense(
    data: np.ndarray, indices: np.ndarray, indptr: np.ndarray,
    shape: Tuple[int, ...], axis: int, name: str,
) -> np.ndarray:
    if len(shape) != 2 or min(shape) < 0:
        raise ValueError(f"{name}: bad shape {shape}")
    n_major, n_minor = shape[axis], shape[1 - axis]
    indptr = indptr.astype(np.int64).ravel()
    indices = indices.astype(np.int64).ravel()
    data = data.ravel()
    if (
        indptr.shape != (n_major + 1,) or indptr[0] != 0 or np.any(np.diff(indptr) < 0)
        or indptr[-1] != data.size or indices.size != data.size
        or (indices.size and (indices.min() < 0 or indices.max() >= n_minor))
    ):
        raise ValueError(f"{name}: inconsistent data/indices/indptr for shape {shape}")
    major = np.repeat(np.arange(n_major), np.diff(indptr))
    dense = np.zeros(shape, dtype=data.dtype if data.size else np.float64)
    if axis == 1:
        np.add.at(dense, (indices, major), data)
    else:
        np.add.at(dense, (major, indices), data)
    return dense


_STANDIN_CACHE: Dict[Tuple[str, str], type] = {}


def _standin_class(base: type, module: str, name: str, **attrs: Any) -> type:
    key = (module, name)
    if key not in _STANDIN_CACHE:
        _STANDIN_CACHE[key] = type(
            f"StandIn_{name}", (base,), {"source_class": f"{module}.{name}", **attrs}
        )
    return _STANDIN_CACHE[key]


# --- allowed callables --------------------------------------------------------------


def _safe_reconstruct(subtype: Any, shape: Any, dtype: Any) -> np.ndarray:
    if subtype is not np.ndarray:
        raise UnsafePickleError(f"numpy _reconstruct of {subtype!r} is not allowed")
    return _np_multiarray._reconstruct(np.ndarray, shape, dtype)


def _safe_scalar(dtype: Any, *args: Any) -> Any:
    if not isinstance(dtype, np.dtype) or dtype.hasobject:
        raise UnsafePickleError(f"numpy scalar of dtype {dtype!r} is not allowed")
    return _np_multiarray.scalar(dtype, *args)


def _safe_frombuffer(buf: Any, dtype: Any, shape: Any, order: Any) -> np.ndarray:
    if not isinstance(dtype, np.dtype) or dtype.hasobject:
        raise UnsafePickleError(f"numpy _frombuffer of dtype {dtype!r} is not allowed")
    return _np_numeric._frombuffer(buf, dtype, shape, order)


def _safe_codecs_encode(text: Any, encoding: str = "utf-8") -> bytes:
    if not isinstance(text, str) or encoding.lower().replace("-", "") not in ("latin1", "utf8"):
        raise UnsafePickleError(f"_codecs.encode with {encoding!r} is not allowed")
    return text.encode(encoding)


def _safe_reconstructor(cls: Any, base: Any, state: Any) -> Any:
    if not (isinstance(cls, type) and issubclass(cls, _InertStandIn)) or base is not object:
        raise UnsafePickleError(f"copy_reg._reconstructor({cls!r}, {base!r}) is not allowed")
    return cls.__new__(cls)


def _safe_newobj(cls: Any, *args: Any) -> Any:
    # ``cls`` was itself resolved through the allow-list, so its __new__ is inert
    if not isinstance(cls, type):
        raise UnsafePickleError(f"copy_reg.__newobj__ of {cls!r} is not allowed")
    return cls.__new__(cls, *args)


_BUILTINS = {
    "set": set, "frozenset": frozenset, "complex": complex, "bytearray": bytearray,
    "bytes": bytes, "object": object, "slice": slice,
}
_NUMPY_CORE = ("numpy.core.multiarray", "numpy._core.multiarray")
_NUMPY_NUMERIC = ("numpy.core.numeric", "numpy._core.numeric")
_CHUMPY_MODULES = ("chumpy", "chumpy.ch", "chumpy.reordering", "chumpy.ch_ops")
_SPARSE_CLASSES = {
    "csc_matrix": 1, "csc_array": 1, "csr_matrix": 0, "csr_array": 0,
}
_SPARSE_MODULES = (
    "scipy.sparse", "scipy.sparse.csc", "scipy.sparse._csc",
    "scipy.sparse.csr", "scipy.sparse._csr",
)
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _resolve_global(module: str, name: str) -> Any:
    """The object a (module, name) global maps to, or UnsafePickleError."""
    if module in ("__builtin__", "builtins") and name in _BUILTINS:
        return _BUILTINS[name]
    if module in ("copy_reg", "copyreg"):
        if name == "_reconstructor":
            return _safe_reconstructor
        if name == "__newobj__":
            return _safe_newobj
    if module == "_codecs" and name == "encode":
        return _safe_codecs_encode
    if module == "numpy" and name == "ndarray":
        return np.ndarray
    if module == "numpy" and name == "dtype":
        return np.dtype
    if module in _NUMPY_CORE and name == "_reconstruct":
        return _safe_reconstruct
    if module in _NUMPY_CORE and name == "scalar":
        return _safe_scalar
    if module in _NUMPY_NUMERIC and name == "_frombuffer":
        return _safe_frombuffer
    if module in _CHUMPY_MODULES and _IDENTIFIER.match(name):
        return _standin_class(ChumpyStandIn, module, name)
    if module in _SPARSE_MODULES and name in _SPARSE_CLASSES:
        return _standin_class(
            SparseStandIn, module, name, compressed_axis=_SPARSE_CLASSES[name]
        )
    raise UnsafePickleError(
        f"refusing to load global '{module}.{name}': not one of the classes a MANO "
        "pickle may reference (pickles can run code; this loader allows only chumpy "
        "arrays, scipy CSC/CSR matrices, numpy arrays and plain containers)"
    )


class RestrictedUnpickler(pickle.Unpickler):
    """Unpickler that resolves only the globals listed in :func:`_resolve_global`."""

    def find_class(self, module: str, name: str) -> Any:  # noqa: D102
        return _resolve_global(module, name)


def restricted_load(file: BinaryIO) -> Any:
    """Unpickle ``file`` with :class:`RestrictedUnpickler` (encoding='latin1')."""
    return RestrictedUnpickler(file, encoding="latin1").load()


def _to_array(value: Any) -> np.ndarray:
    if isinstance(value, np.ndarray):
        return value
    if isinstance(value, ChumpyStandIn):
        return value.array
    if isinstance(value, SparseStandIn):
        return value.dense
    return np.asarray(value)


# --- the model ----------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class ManoModel:
    """MANO arrays as plain read-only numpy (float64 / int64), metres.

    v_template (778, 3); faces (1538, 3) int64; J_regressor (16, 778) dense;
    weights (778, 16); posedirs (778, 3, 135); shapedirs (778, 3, B);
    kintree_table (2, 16) int64 (row 0: parents, root stored as 2**32-1);
    hands_components (45, 45) and hands_mean (45,) when present;
    joint_regressor_freihand (21, 778) with fingertip one-hot rows, FreiHAND order.
    """

    v_template: np.ndarray
    faces: np.ndarray
    J_regressor: np.ndarray
    weights: np.ndarray
    posedirs: np.ndarray
    shapedirs: np.ndarray
    kintree_table: np.ndarray
    joint_regressor_freihand: np.ndarray
    side: str
    hands_components: Optional[np.ndarray] = None
    hands_mean: Optional[np.ndarray] = None
    mesh_id: str = MANO_MESH_ID
    source_path: str = ""

    @property
    def parents(self) -> np.ndarray:
        """(16,) parent of each MANO joint, -1 for the root."""
        parents = self.kintree_table[0].copy()
        parents[0] = -1
        return parents

    @property
    def num_betas(self) -> int:
        return int(self.shapedirs.shape[-1])


def _infer_side(path: str) -> str:
    stem = os.path.basename(path).upper()
    has_right, has_left = "RIGHT" in stem, "LEFT" in stem
    if has_right != has_left:
        return "right" if has_right else "left"
    raise ValueError(
        f"{path}: cannot tell the hand side from the file name; pass side='right' or 'left'"
    )


def _checked(raw: Dict[str, Any], key: str, shape: Tuple[Optional[int], ...],
             dtype: type, path: str) -> np.ndarray:
    try:
        arr = np.array(_to_array(raw[key]), dtype=dtype)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{path}: key '{key}' cannot be read as an array: {exc}") from exc
    if arr.ndim != len(shape) or any(s is not None and s != a for s, a in zip(shape, arr.shape)):
        want = "(" + ", ".join("*" if s is None else str(s) for s in shape) + ")"
        raise ValueError(f"{path}: key '{key}' has shape {arr.shape}, expected {want}")
    arr.setflags(write=False)
    return arr


def load_mano(path: PathLike, side: Optional[str] = None) -> ManoModel:
    """Load MANO_RIGHT.pkl / MANO_LEFT.pkl without chumpy and without running code.

    Args:
        path: the .pkl file, or a folder holding MANO_RIGHT.pkl / MANO_LEFT.pkl.
        side: 'right' or 'left'; inferred from the file name when None (a folder
            defaults to 'right').
    Raises:
        FileNotFoundError: no such file.
        UnsafePickleError: the pickle references a global outside the allow-list.
        ValueError: not a MANO pickle (missing keys, wrong shapes, unreadable).
    """
    path = os.fspath(path)
    if side is not None and side not in ("right", "left"):
        raise ValueError(f"side must be 'right' or 'left', got {side!r}")
    if os.path.isdir(path):
        side = side or "right"
        path = os.path.join(path, f"MANO_{side.upper()}.pkl")
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"MANO model file not found: {path}. MANO cannot be shipped with this project; "
            "download MANO_RIGHT.pkl / MANO_LEFT.pkl yourself (registration on the MANO "
            "website) and pass the file or its folder."
        )
    side = side or _infer_side(path)
    with open(path, "rb") as fh:
        try:
            raw = restricted_load(fh)
        except UnsafePickleError:
            raise
        except (pickle.UnpicklingError, EOFError, AttributeError, TypeError, ValueError,
                IndexError, KeyError) as exc:
            raise ValueError(f"{path}: not a readable MANO pickle: {exc}") from exc
    if not isinstance(raw, dict):
        raise ValueError(f"{path}: expected a pickled dict, got {type(raw).__name__}")
    missing = [k for k in REQUIRED_KEYS if k not in raw]
    if missing:
        raise ValueError(f"{path}: not a MANO model, missing keys {missing}")

    nv, nj = MANO_NUM_VERTICES, MANO_NUM_JOINTS
    j_reg = _checked(raw, "J_regressor", (nj, nv), np.float64, path)
    optional = {}
    if raw.get("hands_components") is not None:
        optional["hands_components"] = _checked(
            raw, "hands_components", (None, 3 * (nj - 1)), np.float64, path)
    if raw.get("hands_mean") is not None:
        optional["hands_mean"] = _checked(raw, "hands_mean", (3 * (nj - 1),), np.float64, path)
    freihand = mano_regressor_freihand(j_reg)
    freihand.setflags(write=False)
    return ManoModel(
        v_template=_checked(raw, "v_template", (nv, 3), np.float64, path),
        faces=_checked(raw, "f", (MANO_NUM_FACES, 3), np.int64, path),
        J_regressor=j_reg,
        weights=_checked(raw, "weights", (nv, nj), np.float64, path),
        posedirs=_checked(raw, "posedirs", (nv, 3, 9 * (nj - 1)), np.float64, path),
        shapedirs=_checked(raw, "shapedirs", (nv, 3, None), np.float64, path),
        kintree_table=_checked(raw, "kintree_table", (2, nj), np.int64, path),
        joint_regressor_freihand=freihand,
        side=side,
        source_path=path,
        **optional,
    )
