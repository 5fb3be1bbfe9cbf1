"""The ReJSHand network (plain PyTorch + timm; no ROS imports).

Light re-exports; see ``rejshand.py`` for the model, ``model_file.py`` for files.
"""

from .config import FREIHAND_PARENTS, ModelConfig
from .model_file import (ModelFileError, ModelMetadata, load_model_file,
                         load_training_state, read_model_metadata, save_model_file,
                         save_training_state)
from .rejshand import ReJSHand, ReJSHandHead, count_head_parameters, default_joint_regressor

__all__ = [
    "FREIHAND_PARENTS", "ModelConfig", "ModelFileError", "ModelMetadata", "ReJSHand",
    "ReJSHandHead", "count_head_parameters", "default_joint_regressor", "load_model_file",
    "load_training_state", "read_model_metadata", "save_model_file", "save_training_state",
]
