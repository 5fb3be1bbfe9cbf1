"""The ReJSHand network (plain PyTorch + timm; no ROS imports).

Light re-exports; see ``rejshand.py`` for the model, ``model_file.py`` for the model layer
(declarations, model files).
"""

from .config import FREIHAND_PARENTS, ModelConfig
from .model_file import (POSE_MODEL, ModelFileError, ModelMetadata, load_model_file,
                         read_model_metadata, save_model_file)
from .rejshand import ReJSHand, ReJSHandHead, count_head_parameters, default_joint_regressor

__all__ = [
    "FREIHAND_PARENTS", "POSE_MODEL", "ModelConfig", "ModelFileError", "ModelMetadata",
    "ReJSHand", "ReJSHandHead", "count_head_parameters", "default_joint_regressor",
    "load_model_file", "read_model_metadata", "save_model_file",
]
