"""FreiHAND evaluation protocol, vectorised over N samples.

Inputs are metres; errors are reported in millimetres. As in the official evaluation:
* errors are Euclidean distances, averaged per keypoint over samples, then over
  keypoints (a mean, not an RMS);
* unaligned errors compare the raw camera-frame points: no root or scale alignment
  (``root_relative=True`` subtracts joint 9 from both sides first, a cheap extra);
* PA errors use the similarity Procrustes of :mod:`rejshand_ros.geometry.procrustes`
  (reflections allowed); joints and vertices are aligned separately when the
  prediction has as many vertices as the ground truth, otherwise the vertices reuse
  the joints' transform (and MPVPE is undefined: NaN);
* PCK counts errors <= threshold over np.linspace(0, 0.05, 100) m; AUC is the
  trapezoid area normalised by the threshold range;
* F-score per sample on vertices: precision = fraction of GT points with a predicted
  point strictly closer than the threshold, recall = the reverse, F = 2PR/(P+R)
  (0 when P+R = 0), averaged over samples; aligned and unaligned.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
from scipy.spatial import cKDTree

from rejshand_ros.geometry.procrustes import apply_similarity, procrustes_transform
from rejshand_ros.geometry.keypoints import ROOT_JOINT

PCK_THRESHOLDS_M: np.ndarray = np.linspace(0.0, 0.05, 100)
F_THRESHOLDS_M: Tuple[float, float] = (0.005, 0.015)
_MIN_CHUNK = 16  # fewest samples per thread task
_trapezoid = getattr(np, "trapezoid", None) or np.trapz  # numpy 1.x has only trapz


def _points3(x: np.ndarray, name: str) -> np.ndarray:
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim != 3 or arr.shape[-1] != 3:
        raise ValueError(f"{name}: expected (N, K, 3), got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name}: contains NaN or inf")
    return arr


#: the real-photo yardstick: hand-centred 256 px images whose hand (keypoint box) is
#: 256 / 1.35 px across; 2D errors are reported in its pixels
YARDSTICK_SIZE_PX = 256
YARDSTICK_HAND_PX = YARDSTICK_SIZE_PX / 1.35


def uv_error_px256(pred_uv: np.ndarray, gt_uv: np.ndarray) -> np.ndarray:
    """(N,) mean 2D keypoint error per sample in pixels of the 256 px yardstick image:
    the error relative to the true keypoint box side, times ``YARDSTICK_HAND_PX``.
    ``pred_uv``, ``gt_uv``: (N, J, 2) in any common unit (pixels, unit crop coords)."""
    pred = np.asarray(pred_uv, dtype=np.float64)
    gt = np.asarray(gt_uv, dtype=np.float64)
    if pred.shape != gt.shape or pred.ndim != 3 or pred.shape[-1] != 2:
        raise ValueError(f"uv arrays must both be (N, J, 2), got {pred.shape} and {gt.shape}")
    side = np.ptp(gt, axis=1).max(axis=1)
    if np.any(side <= 0):
        raise ValueError("a ground-truth hand has a degenerate keypoint box")
    return np.linalg.norm(pred - gt, axis=-1).mean(axis=1) / side * YARDSTICK_HAND_PX


def keypoint_errors(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Euclidean distances (N, K) between (N, K, 3) point sets (unit of the input)."""
    d = np.asarray(pred, dtype=np.float64) - np.asarray(gt, dtype=np.float64)
    return np.sqrt(np.einsum("...d,...d->...", d, d))


def per_keypoint_mean(errors: np.ndarray) -> np.ndarray:
    """(N, K) errors -> (K,) mean over samples."""
    return np.asarray(errors).mean(axis=0)


def pck_curve(errors: np.ndarray, thresholds: np.ndarray = PCK_THRESHOLDS_M) -> np.ndarray:
    """(N, K) errors -> (T,) PCK: per keypoint fraction of samples with error <= t, averaged.

    Every keypoint has all N samples, so the average of the per-keypoint fractions
    equals the fraction over all N*K errors (computed by sorting once).
    """
    e = np.sort(np.asarray(errors, dtype=np.float64).ravel())
    return np.searchsorted(e, np.asarray(thresholds), side="right") / e.size


def auc(pck: np.ndarray, thresholds: np.ndarray = PCK_THRESHOLDS_M) -> float:
    """Trapezoid area under a PCK curve, normalised by the threshold range."""
    t = np.asarray(thresholds, dtype=np.float64)
    return float(_trapezoid(pck, t) / (t[-1] - t[0]))


def _tree(points: np.ndarray) -> cKDTree:
    # unbalanced trees build faster and query as fast on ~800 points
    return cKDTree(points, balanced_tree=False, compact_nodes=False)


def _map_samples(fn: Callable[[int], None], n: int, workers: Optional[int]) -> None:
    """Run fn(i) for every sample, in threads (cKDTree releases the GIL)."""
    workers = workers if workers is not None else (os.cpu_count() or 1)
    if workers <= 1 or n < 2 * _MIN_CHUNK:
        for i in range(n):
            fn(i)
        return
    step = max(_MIN_CHUNK, -(-n // (4 * workers)))

    def run(start: int) -> None:
        for i in range(start, min(n, start + step)):
            fn(i)

    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(run, range(0, n, step)))


def nearest_neighbour_distances(
    src: np.ndarray, dst: np.ndarray, upper_bound: float = np.inf,
    workers: Optional[int] = None,
) -> np.ndarray:
    """For every point of src (N, P, 3) the distance to the nearest point of dst (N, Q, 3)
    of the same sample -> (N, P); distances beyond ``upper_bound`` come back as inf.
    One KD-tree per sample; ``workers`` threads (default: all CPUs).
    """
    src = np.asarray(src, dtype=np.float64)
    dst = np.asarray(dst, dtype=np.float64)
    if src.ndim != 3 or dst.ndim != 3 or src.shape[0] != dst.shape[0]:
        raise ValueError(f"expected (N, P, 3) and (N, Q, 3), got {src.shape} and {dst.shape}")
    out = np.full(src.shape[:2], np.inf)
    if src.shape[1] == 0 or dst.shape[1] == 0:
        return out

    def one(i: int) -> None:
        out[i] = _tree(dst[i]).query(src[i], k=1, distance_upper_bound=upper_bound)[0]

    _map_samples(one, src.shape[0], workers)
    return out


def _f_from_distances(d_gt: np.ndarray, d_pred: np.ndarray, th: np.ndarray) -> np.ndarray:
    precision = (d_gt[..., None] < th).mean(axis=-2)
    recall = (d_pred[..., None] < th).mean(axis=-2)
    denom = precision + recall
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denom > 0, 2.0 * precision * recall / denom, 0.0)


def _nn_within(
    tree: Optional[cKDTree], tree_points: np.ndarray, query: np.ndarray,
    corr: Optional[np.ndarray], th: np.ndarray,
) -> Tuple[np.ndarray, Optional[cKDTree]]:
    """Distances of ``query`` points to their nearest ``tree_points``, as far as the
    comparisons ``d < t`` for the sorted thresholds ``th`` need them.

    Same-topology sets give ``corr`` (each point's distance to its corresponding
    point), an upper bound of the nearest distance: points with corr < th[0] pass
    every threshold without a search, and every point reports min(distance, corr),
    which compares with each threshold exactly like the true distance. A first search
    is bounded by th[0] (cheap); only points not found there and not settled by corr
    are searched again up to th[-1]. The tree is built lazily and returned for reuse.
    """
    n = query.shape[0]
    out = np.full(n, np.inf) if corr is None else corr.copy()
    need = out >= th[0]
    found_mask = np.zeros(n, bool)
    for stage, limit in enumerate((th[0], th[-1]) if th.size > 1 else (th[0],)):
        if stage == 1:
            need &= ~found_mask & (out >= th[1])
        if not need.any():
            break
        tree = tree if tree is not None else _tree(tree_points)
        found = tree.query(query[need], k=1, distance_upper_bound=np.nextafter(limit, np.inf))[0]
        found_mask[need] = np.isfinite(found)
        out[need] = np.minimum(found, out[need])
    return out, tree


def f_scores_multi(
    preds: Sequence[np.ndarray], gt: np.ndarray,
    thresholds: Sequence[float] = F_THRESHOLDS_M, workers: Optional[int] = None,
) -> List[np.ndarray]:
    """Per-sample F-scores of several predictions against one GT, sharing the GT trees.

    Args:
        preds: point sets (N, P, 3) each (P may differ from the GT's count), metres.
        gt: (N, Q, 3) metres.
    Returns:
        one (N, T) array per prediction.
    """
    g = np.asarray(gt, dtype=np.float64)
    ps = [np.asarray(p, dtype=np.float64) for p in preds]
    if g.ndim != 3 or any(p.ndim != 3 or p.shape[0] != g.shape[0] for p in ps):
        raise ValueError(f"expected (N, P, 3) predictions and (N, Q, 3) GT, got "
                         f"{[p.shape for p in ps]} and {g.shape}")
    th = np.asarray(thresholds, dtype=np.float64)
    th_sorted = np.sort(th)
    corr = [keypoint_errors(p, g) if p.shape == g.shape else None for p in ps]
    d_gt = [np.full(g.shape[:2], np.inf) for _ in ps]  # GT point -> nearest prediction
    d_pr = [np.full(p.shape[:2], np.inf) for p in ps]  # predicted point -> nearest GT

    def one(i: int) -> None:
        gt_tree = None
        for k, p in enumerate(ps):
            c = None if corr[k] is None else corr[k][i]
            d_gt[k][i] = _nn_within(None, p[i], g[i], c, th_sorted)[0]
            d_pr[k][i], gt_tree = _nn_within(gt_tree, g[i], p[i], c, th_sorted)

    if g.shape[1] and all(p.shape[1] for p in ps):
        _map_samples(one, g.shape[0], workers)
    return [_f_from_distances(dg, dp, th) for dg, dp in zip(d_gt, d_pr)]


def f_scores(
    pred: np.ndarray, gt: np.ndarray, thresholds: Sequence[float] = F_THRESHOLDS_M,
    workers: Optional[int] = None,
) -> np.ndarray:
    """Per-sample F-scores (N, T) of point sets pred (N, P, 3) vs gt (N, Q, 3), metres."""
    return f_scores_multi([pred], gt, thresholds, workers)[0]


def evaluate(
    pred_xyz: np.ndarray,
    gt_xyz: np.ndarray,
    pred_verts: Optional[np.ndarray] = None,
    gt_verts: Optional[np.ndarray] = None,
    root_relative: bool = False,
    workers: Optional[int] = None,
) -> Dict[str, object]:
    """FreiHAND metrics for N samples.

    Args:
        pred_xyz, gt_xyz: (N, 21, 3) joints, metres, same frame.
        pred_verts: (N, V', 3) predicted mesh or None; gt_verts: (N, V, 3) or None.
            Mesh metrics need both; they are NaN otherwise.
        root_relative: subtract joint 9 (and, for meshes, the joints' joint 9) from
            prediction and GT before the unaligned metrics. Off = official protocol.
        workers: threads for the F-score nearest-neighbour search (default: all CPUs).
    Returns:
        dict with floats pa_mpjpe_mm, pa_mpvpe_mm, mpjpe_mm, mpvpe_mm, f5, f15,
        f5_unaligned, f15_unaligned, auc_pa_joints, auc_joints, auc_pa_verts,
        auc_verts, num_samples, and arrays per_joint_mm, per_joint_pa_mm (21,),
        pck_thresholds_mm (100,), pck_joints, pck_pa_joints (100,).
    """
    pj = _points3(pred_xyz, "pred_xyz")
    gj = _points3(gt_xyz, "gt_xyz")
    if pj.shape != gj.shape:
        raise ValueError(f"pred_xyz {pj.shape} and gt_xyz {gj.shape} differ")
    if root_relative:
        proot, groot = pj[:, ROOT_JOINT : ROOT_JOINT + 1], gj[:, ROOT_JOINT : ROOT_JOINT + 1]
        pj, gj = pj - proot, gj - groot
    nan = float("nan")
    res: Dict[str, object] = {"num_samples": int(pj.shape[0])}

    err = keypoint_errors(pj, gj)
    rot, scale, trans = procrustes_transform(pj, gj)
    err_pa = keypoint_errors(apply_similarity(pj, rot, scale, trans), gj)
    pck, pck_pa = pck_curve(err), pck_curve(err_pa)
    res.update(
        mpjpe_mm=float(per_keypoint_mean(err).mean() * 1e3),
        pa_mpjpe_mm=float(per_keypoint_mean(err_pa).mean() * 1e3),
        per_joint_mm=per_keypoint_mean(err) * 1e3,
        per_joint_pa_mm=per_keypoint_mean(err_pa) * 1e3,
        pck_thresholds_mm=PCK_THRESHOLDS_M * 1e3,
        pck_joints=pck,
        pck_pa_joints=pck_pa,
        auc_joints=auc(pck),
        auc_pa_joints=auc(pck_pa),
    )
    res.update(mpvpe_mm=nan, pa_mpvpe_mm=nan, auc_verts=nan, auc_pa_verts=nan,
               f5=nan, f15=nan, f5_unaligned=nan, f15_unaligned=nan)
    if pred_verts is None or gt_verts is None:
        return res

    pv = _points3(pred_verts, "pred_verts")
    gv = _points3(gt_verts, "gt_verts")
    if pv.shape[0] != pj.shape[0] or gv.shape[0] != pj.shape[0]:
        raise ValueError(f"vertex batches {pv.shape[0]}/{gv.shape[0]} != {pj.shape[0]} samples")
    if root_relative:
        pv, gv = pv - proot, gv - groot
    if pv.shape == gv.shape:
        pv_al = apply_similarity(pv, *procrustes_transform(pv, gv))
        verr, verr_pa = keypoint_errors(pv, gv), keypoint_errors(pv_al, gv)
        res.update(
            mpvpe_mm=float(per_keypoint_mean(verr).mean() * 1e3),
            pa_mpvpe_mm=float(per_keypoint_mean(verr_pa).mean() * 1e3),
            auc_verts=auc(pck_curve(verr)),
            auc_pa_verts=auc(pck_curve(verr_pa)),
        )
    else:
        pv_al = apply_similarity(pv, rot, scale, trans)
    f_al, f_raw = (f.mean(axis=0) for f in f_scores_multi([pv_al, pv], gv, workers=workers))
    res.update(f5=float(f_al[0]), f15=float(f_al[1]),
               f5_unaligned=float(f_raw[0]), f15_unaligned=float(f_raw[1]))
    return res
