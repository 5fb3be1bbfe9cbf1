"""Restricted MANO loader: official-looking pickles load, code-running pickles are refused."""

import builtins
import io
import os
import pickle
import struct
import sys
import types

import numpy as np
import pytest

from rejshand_ros.geometry.mano import (ManoModel, UnsafePickleError, load_mano, restricted_load)
from rejshand_ros.geometry.keypoints import MANO_FINGERTIP_VERTICES


class _Py2StylePickler(pickle._Pickler):
    """Writes bytes as Python 2 wrote str (SHORT_BINSTRING / BINSTRING opcodes)."""

    dispatch = dict(pickle._Pickler.dispatch)

    def _save_py2_str(self, obj):
        n = len(obj)
        if n < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([n]) + obj)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", n) + obj)
        self.memoize(obj)

    dispatch[bytes] = _save_py2_str


def _dumps_py2(obj) -> bytes:
    buf = io.BytesIO()
    _Py2StylePickler(buf, protocol=2).dump(obj)
    return buf.getvalue()


def _fake_class(monkeypatch, module: str, name: str, getstate):
    """A class whose module/qualname are ``module.name``, registered in sys.modules."""
    cls = type(name, (), {"__getstate__": getstate})
    cls.__module__, cls.__qualname__ = module, name
    parts = module.split(".")
    for i in range(1, len(parts) + 1):
        mod_name = ".".join(parts[:i])
        monkeypatch.setitem(sys.modules, mod_name, types.ModuleType(mod_name))
    setattr(sys.modules[module], name, cls)
    return cls


def _make_mano(rng):
    j_reg = np.zeros((16, 778))
    for j in range(16):
        idx = rng.choice(778, 20, replace=False)
        j_reg[j, idx] = rng.random(20)
    j_reg /= j_reg.sum(axis=1, keepdims=True)
    kintree = np.array([[4294967295, 0, 1, 2, 0, 4, 5, 0, 7, 8, 0, 10, 11, 0, 13, 14],
                        np.arange(16)], dtype=np.int64)
    return {
        "v_template": rng.normal(size=(778, 3)) * 0.05,
        "f": rng.integers(0, 778, size=(1538, 3)).astype(np.uint32),
        "J_regressor": j_reg,
        "weights": rng.random((778, 16)),
        "posedirs": rng.normal(size=(778, 3, 135)),
        "shapedirs": rng.normal(size=(778, 3, 10)),
        "kintree_table": kintree,
        "hands_components": rng.normal(size=(45, 45)),
        "hands_mean": rng.normal(size=45),
    }


def _wrap(monkeypatch, arrays, sparse_module, sparse_name="csc_matrix", py2=True):
    """Wrap arrays like the official file: shapedirs in chumpy Ch, J_regressor sparse."""
    key = (lambda s: s.encode("latin1")) if py2 else (lambda s: s)
    ch_cls = _fake_class(monkeypatch, "chumpy.ch", "Ch", lambda self: {
        key("x"): self.x, key("_dirty_vars"): set(), key("_itr"): None,
        key("_depends_on_deps"): {}})
    sp_cls = _fake_class(monkeypatch, sparse_module, sparse_name, lambda self: self.state)
    shapedirs = ch_cls.__new__(ch_cls)
    shapedirs.x = arrays["shapedirs"]
    dense = arrays["J_regressor"]
    sparse = sp_cls.__new__(sp_cls)
    major = dense.T if sparse_name.startswith("csc") else dense
    rows, cols = np.nonzero(major)
    sparse.state = {
        key("_shape"): dense.shape, key("maxprint"): 50,
        key("indptr"): np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=major.shape[0]))]).astype(np.int32),
        key("indices"): cols.astype(np.int32), key("data"): major[rows, cols],
    }
    out = {key(k): v for k, v in arrays.items()}
    out[key("shapedirs")] = shapedirs
    out[key("J_regressor")] = sparse
    out[key("bs_style")] = key("lbs")
    out[key("pose_training_info")] = {key("num"): np.float64(3.5)}
    return out


@pytest.mark.parametrize(
    "sparse_module, sparse_name, py2, numpy_module",
    [
        ("scipy.sparse.csc", "csc_matrix", True, b"numpy.core.multiarray"),
        ("scipy.sparse._csc", "csc_matrix", False, b"numpy._core.multiarray"),
        ("scipy.sparse._csr", "csr_matrix", True, b"numpy.core.multiarray"),
    ],
)
def test_loads_official_style_pickle(tmp_path, monkeypatch, sparse_module, sparse_name, py2, numpy_module):
    rng = np.random.default_rng(0)
    arrays = _make_mano(rng)
    with monkeypatch.context() as m:
        wrapped = _wrap(m, arrays, sparse_module, sparse_name, py2)
        data = _dumps_py2(wrapped) if py2 else pickle.dumps(wrapped, protocol=2)
    assert b"cchumpy.ch\nCh\n" in data and f"c{sparse_module}\n".encode() in data
    data = data.replace(b"cnumpy._core.multiarray\n", b"c" + numpy_module + b"\n")
    path = tmp_path / "MANO_LEFT.pkl"
    path.write_bytes(data)
    monkeypatch.setitem(sys.modules, "chumpy", None)  # any import attempt would fail
    monkeypatch.setitem(sys.modules, "chumpy.ch", None)

    model = load_mano(path)
    assert isinstance(model, ManoModel)
    assert model.side == "left" and model.mesh_id == "mano_778"
    np.testing.assert_array_equal(model.v_template, arrays["v_template"])
    np.testing.assert_array_equal(model.faces, arrays["f"].astype(np.int64))
    assert model.faces.dtype == np.int64 and model.v_template.dtype == np.float64
    np.testing.assert_array_equal(model.J_regressor, arrays["J_regressor"])
    assert type(model.J_regressor) is np.ndarray
    np.testing.assert_array_equal(model.shapedirs, arrays["shapedirs"])
    np.testing.assert_array_equal(model.posedirs, arrays["posedirs"])
    np.testing.assert_array_equal(model.weights, arrays["weights"])
    np.testing.assert_array_equal(model.hands_components, arrays["hands_components"])
    np.testing.assert_array_equal(model.hands_mean, arrays["hands_mean"])
    assert model.parents[0] == -1 and list(model.parents[1:4]) == [0, 1, 2]
    assert model.num_betas == 10
    assert model.joint_regressor_freihand.shape == (21, 778)
    assert model.joint_regressor_freihand[4, MANO_FINGERTIP_VERTICES[0]] == 1.0
    assert not model.v_template.flags.writeable


def test_side_from_folder_and_argument(tmp_path):
    arrays = _make_mano(np.random.default_rng(1))
    (tmp_path / "MANO_RIGHT.pkl").write_bytes(pickle.dumps(arrays, protocol=2))
    assert load_mano(tmp_path).side == "right"
    (tmp_path / "hand.pkl").write_bytes(pickle.dumps(arrays, protocol=2))
    with pytest.raises(ValueError, match="side"):
        load_mano(tmp_path / "hand.pkl")
    assert load_mano(tmp_path / "hand.pkl", side="left").side == "left"


def test_missing_file_names_path(tmp_path):
    with pytest.raises(FileNotFoundError, match="MANO_RIGHT.pkl"):
        load_mano(tmp_path / "MANO_RIGHT.pkl")
    with pytest.raises(FileNotFoundError, match="MANO_LEFT.pkl"):
        load_mano(tmp_path, side="left")


def test_missing_keys_and_bad_shapes(tmp_path):
    arrays = _make_mano(np.random.default_rng(2))
    bad = dict(arrays)
    del bad["weights"], bad["f"]
    p = tmp_path / "MANO_RIGHT.pkl"
    p.write_bytes(pickle.dumps(bad, protocol=2))
    with pytest.raises(ValueError, match=r"missing keys \['f', 'weights'\]"):
        load_mano(p)
    bad = dict(arrays, v_template=np.zeros((777, 3)))
    p.write_bytes(pickle.dumps(bad, protocol=2))
    with pytest.raises(ValueError, match=r"v_template.*\(777, 3\).*\(778, 3\)"):
        load_mano(p)
    p.write_bytes(pickle.dumps([1, 2, 3], protocol=2))
    with pytest.raises(ValueError, match="dict"):
        load_mano(p)
    p.write_bytes(b"not a pickle")
    with pytest.raises(ValueError, match=str(p)):
        load_mano(p)


def test_chumpy_without_stored_array_is_a_clear_error(tmp_path, monkeypatch):
    arrays = _make_mano(np.random.default_rng(3))
    with monkeypatch.context() as m:
        op = _fake_class(m, "chumpy.reordering", "Select", lambda self: {"idxs": np.arange(3)})
        arrays["shapedirs"] = op.__new__(op)
        data = pickle.dumps(arrays, protocol=2)
    p = tmp_path / "MANO_RIGHT.pkl"
    p.write_bytes(data)
    with pytest.raises(ValueError, match="chumpy.reordering.Select.*'x'"):
        load_mano(p)


class _SystemCall:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


class _OpenCall:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (builtins.open, (str(self.marker), "w"))


@pytest.mark.parametrize("payload, name", [(_SystemCall, "system"), (_OpenCall, "open")])
def test_refuses_code_execution(tmp_path, payload, name):
    marker = tmp_path / "pwned"
    arrays = _make_mano(np.random.default_rng(4))
    arrays["bs_style"] = payload(marker)
    p = tmp_path / "MANO_RIGHT.pkl"
    p.write_bytes(pickle.dumps(arrays, protocol=2))
    with pytest.raises(UnsafePickleError, match=rf"\.{name}'"):
        load_mano(p)
    assert not marker.exists()
    with pytest.raises(UnsafePickleError):
        restricted_load(io.BytesIO(pickle.dumps(payload(marker), protocol=2)))
    assert not marker.exists()


def test_refuses_other_globals():
    for module, name in [("subprocess", "Popen"), ("numpy", "load"), ("scipy.sparse", "coo_matrix"),
                         ("builtins", "eval"), ("__builtin__", "getattr")]:
        data = b"\x80\x02c" + module.encode() + b"\n" + name.encode() + b"\n."
        with pytest.raises(UnsafePickleError, match=f"{module}.{name}"):
            restricted_load(io.BytesIO(data))


@pytest.mark.parametrize("protocol", [0, 1])
def test_old_protocols_use_safe_reconstructor(monkeypatch, protocol):
    with monkeypatch.context() as m:
        ch_cls = _fake_class(m, "chumpy.ch", "Ch", lambda self: {"x": self.x})
        obj = ch_cls.__new__(ch_cls)
        obj.x = np.arange(6.0).reshape(2, 3)
        data = pickle.dumps({"shapedirs": obj}, protocol=protocol)
    assert b"_reconstructor" in data
    loaded = restricted_load(io.BytesIO(data))["shapedirs"]
    np.testing.assert_array_equal(loaded.array, obj.x)
