"""Where a run's mesh topology (faces, mesh_id) and joint regressor come from.

mesh:      open_hand (our procedural model) | mano:<path to MANO_RIGHT.pkl> | none
regressor: fit (least squares on training (vertices, joints) pairs: FreiHAND needs no MANO
           file) | open_hand | mano:<path>
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rejshand_ros.data.freihand import SplitAnnotations
from rejshand_ros.geometry.regressor import fit_joint_regressor


@dataclass
class MeshSource:
    mesh_id: str
    faces: np.ndarray | None      # (F, 3) int
    regressor: np.ndarray         # (21, V)


def _open_hand():
    from rejshand_ros.hand_model import HandModel

    return HandModel()


def _mano(spec: str):
    from rejshand_ros.geometry.mano import load_mano

    return load_mano(spec.split(":", 1)[1])


def resolve_mesh_source(mesh: str, regressor: str, train: SplitAnnotations | None,
                        fit_samples: int = 2000) -> MeshSource:
    """Build the MeshSource a training run asks for; raises ValueError naming the spec."""
    if mesh == "open_hand":
        hand = _open_hand()
        mesh_id, faces = hand.mesh_id, np.asarray(hand.faces)
    elif mesh.startswith("mano:"):
        model = _mano(mesh)
        mesh_id, faces = "mano_778", np.asarray(model.faces)
    elif mesh == "none":
        mesh_id, faces = "", None
    else:
        raise ValueError(f"mesh must be open_hand, mano:<path> or none, got {mesh!r}")

    if regressor == "fit":
        if train is None or train.verts is None or train.xyz is None:
            raise ValueError("regressor 'fit' needs training vertices and keypoints")
        ids = np.flatnonzero(train.valid & train.presence)[:fit_samples]
        matrix = fit_joint_regressor(train.verts[ids], train.xyz[ids], rows_sum_to_one=True)
    elif regressor == "open_hand":
        matrix = np.asarray(_open_hand().joint_regressor)
    elif regressor.startswith("mano:"):
        matrix = np.asarray(_mano(regressor).joint_regressor_freihand)
    else:
        raise ValueError(f"regressor must be fit, open_hand or mano:<path>, got {regressor!r}")
    return MeshSource(mesh_id=mesh_id, faces=faces, regressor=matrix.astype(np.float32))
