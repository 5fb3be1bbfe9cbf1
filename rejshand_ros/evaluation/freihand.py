"""Evaluation on FreiHAND-layout splits: prediction files, scoring, baselines, plots.

``pred.json`` follows the official submission format: ``[xyz_list (N x 21 x 3),
verts_list (N x V x 3)]``, metres, camera frame, in evaluation order.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from rejshand_ros.data.freihand import DatasetError, SplitAnnotations
from rejshand_ros.geometry.keypoints import JOINT_NAMES, ROOT_JOINT
from rejshand_ros.evaluation.metrics import evaluate

#: The metrics printed by rejshand-eval, in this order.
REPORT_KEYS = ("pa_mpjpe_mm", "pa_mpvpe_mm", "mpjpe_mm", "mpvpe_mm", "f5", "f15",
               "f5_unaligned", "f15_unaligned", "auc_pa_joints")

#: The paper's Table I row for ReJSHand on FreiHAND (PA-MPJPE/PA-MPVPE mm, F@5, F@15).
PAPER_ROW = {"pa_mpjpe_mm": 6.3, "pa_mpvpe_mm": 6.4, "f5": 0.756, "f15": 0.984}


def write_pred_json(path: str | Path, xyz: np.ndarray, verts: np.ndarray | None) -> Path:
    """Write the official submission format (verts: empty lists when there is no mesh)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    verts_list = verts.tolist() if verts is not None else [[] for _ in range(len(xyz))]
    path.write_text(json.dumps([np.asarray(xyz).tolist(), verts_list]))
    return path


def read_pred_json(path: str | Path) -> tuple[np.ndarray, np.ndarray | None]:
    """Read pred.json -> (xyz (N,21,3), verts (N,V,3) or None); DatasetError on bad files."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError as exc:
        raise DatasetError(f"prediction file not found: {path}") from exc
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DatasetError(f"cannot read prediction file {path}: {exc}") from exc
    if not (isinstance(data, list) and len(data) == 2):
        raise DatasetError(f"{path}: expected [xyz_list, verts_list]")
    try:
        xyz = np.asarray(data[0], dtype=np.float64)
        verts = np.asarray(data[1], dtype=np.float64) if data[1] and len(data[1][0]) else None
    except (TypeError, ValueError, IndexError) as exc:
        raise DatasetError(f"{path}: malformed prediction lists: {exc}") from exc
    if xyz.ndim != 3 or xyz.shape[1:] != (21, 3):
        raise DatasetError(f"{path}: xyz must be N x 21 x 3, got {xyz.shape}")
    if verts is not None and (verts.ndim != 3 or verts.shape[0] != xyz.shape[0]):
        raise DatasetError(f"{path}: verts must be N x V x 3 for the same N, got {verts.shape}")
    return xyz, verts


def score(pred_xyz: np.ndarray, pred_verts: np.ndarray | None, gt: SplitAnnotations
          ) -> dict[str, object]:
    """Official-protocol metrics of predictions against a split's ground truth."""
    if gt.xyz is None:
        raise DatasetError(f"{gt.root}/{gt.split}_xyz.json is needed to score predictions")
    keep = gt.valid & gt.presence
    if pred_xyz.shape[0] != gt.num_samples:
        raise DatasetError(f"{pred_xyz.shape[0]} predictions for {gt.num_samples} samples "
                           f"in {gt.root}/{gt.split}")
    verts_pred = pred_verts[keep] if pred_verts is not None else None
    verts_gt = gt.verts[keep] if gt.verts is not None else None
    return evaluate(pred_xyz[keep], gt.xyz[keep], verts_pred, verts_gt)


def mean_pose_baseline(train: SplitAnnotations, test: SplitAnnotations) -> dict[str, object]:
    """Metrics of predicting the training set's mean root-relative pose for every sample
    (placed at each test sample's true root, so only the pose is judged)."""
    keep_train = train.valid & train.presence
    mean_pose = (train.xyz[keep_train] - train.xyz[keep_train, ROOT_JOINT:ROOT_JOINT + 1]).mean(0)
    keep = test.valid & test.presence
    gt = test.xyz[keep]
    pred = mean_pose[None] + gt[:, ROOT_JOINT:ROOT_JOINT + 1]
    return evaluate(pred, gt)


def summary(metrics: dict[str, object]) -> dict[str, float]:
    """The REPORT_KEYS subset as plain floats (rounded)."""
    return {key: round(float(metrics[key]), 4) for key in REPORT_KEYS}


def table_row(metrics: dict[str, object], name: str = "this model") -> str:
    """Markdown rows in the layout of the paper's Table I, with the paper's row above."""
    def row(label, values):
        return (f"| {label} | {values['pa_mpjpe_mm']:.1f} | {values['pa_mpvpe_mm']:.1f} | "
                f"{values['f5']:.3f} | {values['f15']:.3f} |")

    return "\n".join(["| method | PA-MPJPE (mm) | PA-MPVPE (mm) | F@5 | F@15 |",
                      "|---|---|---|---|---|", row("ReJSHand (paper, FreiHAND)", PAPER_ROW),
                      row(name, {k: float(metrics[k]) for k in PAPER_ROW})])


def save_plots(metrics: dict[str, object], out_dir: str | Path, title: str = "") -> list[Path]:
    """PCK curve (aligned and unaligned) and per-joint error bars as PNG files."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    thresholds = np.asarray(metrics["pck_thresholds_mm"])
    fig, ax = plt.subplots(figsize=(5, 4), dpi=120)
    ax.plot(thresholds, metrics["pck_pa_joints"],
            label=f"PA-aligned (AUC {float(metrics['auc_pa_joints']):.3f})")
    ax.plot(thresholds, metrics["pck_joints"],
            label=f"unaligned (AUC {float(metrics['auc_joints']):.3f})")
    ax.set(xlabel="threshold (mm)", ylabel="PCK (joints)", ylim=(0, 1.01), title=title or "3D PCK")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    pck_path = out_dir / "pck.png"
    fig.tight_layout()
    fig.savefig(pck_path)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(9, 4), dpi=120)
    x = np.arange(len(JOINT_NAMES))
    ax.bar(x - 0.2, metrics["per_joint_pa_mm"], 0.4, label="PA-aligned")
    ax.bar(x + 0.2, metrics["per_joint_mm"], 0.4, label="unaligned")
    ax.set_xticks(x, JOINT_NAMES, rotation=70, fontsize=7)
    ax.set(ylabel="mean error (mm)", title=title or "per-joint error")
    ax.legend()
    joints_path = out_dir / "per_joint_error.png"
    fig.tight_layout()
    fig.savefig(joints_path)
    plt.close(fig)
    return [pck_path, joints_path]
