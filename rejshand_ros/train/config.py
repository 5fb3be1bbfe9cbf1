"""Training configuration: nested dataclasses loaded from YAML, validated, overridable.

``load_train_config(path, overrides=["optim.lr=1e-4", "max_steps=10"])`` reads a file
from ``config/train/`` (or any path) and applies dotted ``key=value`` overrides (values
parsed as YAML), the way dex-retargeting's configs take ``override=``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from rejshand_ros.data.mixed import SourceConfig
from rejshand_ros.data.sample import AugmentConfig
from rejshand_ros.model.config import ModelConfig


@dataclass
class DataConfig:
    """root: dataset directory (FreiHAND layout); splits by name; num_workers per rank.

    Several sources instead (``rejshand_ros.data.mixed``): ``sources`` (training, each
    with a share and loss multipliers), ``val_sources`` (each scored on its own; the first
    one's main metric picks the best model) and ``epoch_size`` (samples per epoch, all
    sources together; default: the sum of their sizes). With ``sources`` set, ``root``,
    ``train_split`` and ``val_split`` are not used.
    """

    root: str = "data/synth"
    train_split: str = "training"
    val_split: str | None = "validation"
    val_max_samples: int = 500
    num_workers: int = 2
    skip_bad: bool = False
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    sources: list[SourceConfig] = field(default_factory=list)
    val_sources: list[SourceConfig] = field(default_factory=list)
    epoch_size: int | None = None

    def __post_init__(self) -> None:
        self.sources = [s if isinstance(s, SourceConfig) else SourceConfig(**s)
                        for s in self.sources]
        self.val_sources = [s if isinstance(s, SourceConfig) else SourceConfig(**s)
                            for s in self.val_sources]
        if self.epoch_size is not None and self.epoch_size < 1:
            raise ValueError("data.epoch_size must be >= 1")


@dataclass
class OptimConfig:
    """The paper: Adam, lr 5e-4 for 100 epochs then 5e-5 (x0.1), 200 epochs."""

    optimizer: str = "adam"
    lr: float = 5e-4
    weight_decay: float = 0.0
    milestones_epochs: list[float] = field(default_factory=lambda: [100.0])
    #: milestones as fractions of the run's steps instead (e.g. [0.75]); needed with
    #: TrainConfig.time_budget_s, whose step count is only known after calibration
    milestones_fraction: list[float] = field(default_factory=list)
    gamma: float = 0.1
    warmup_steps: int = 0
    grad_clip: float = 1.0

    def __post_init__(self) -> None:
        if self.optimizer not in ("adam", "adamw"):
            raise ValueError(f"optim.optimizer must be adam or adamw, got {self.optimizer!r}")
        if self.lr <= 0 or self.gamma <= 0 or self.warmup_steps < 0:
            raise ValueError(f"optimiser settings out of range: {self}")
        if any(not 0.0 < f < 1.0 for f in self.milestones_fraction):
            raise ValueError(f"optim.milestones_fraction must lie in (0, 1), got "
                             f"{self.milestones_fraction}")


@dataclass
class LossConfig:
    """Paper weights: 1 * L1(2D) + 10 * L1(3D) + 10 * L1(vertices); plus the extra heads."""

    k2d: float = 1.0
    k3d: float = 10.0
    kv: float = 10.0
    presence: float = 0.1
    handedness: float = 0.1


@dataclass
class TrainConfig:
    """Everything a training run needs; stored in every checkpoint and model file."""

    task: str = "pose"                     # pose | (other registered tasks)
    model: ModelConfig = field(default_factory=ModelConfig)
    pretrained_backbone: Any = False       # False | True (timm download) | path
    pretrained_backbone_mapping: str = ""  # a path that is not timm's: CHECKPOINT_MAPPINGS name
    init_from: str = ""                    # model file to start from (fine-tuning); "shipped"
    data: DataConfig = field(default_factory=DataConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    mesh: str = "open_hand"                # open_hand | mano:<path> | none
    regressor: str = "fit"                 # fit | open_hand | mano:<path>
    batch_size: int = 32
    epochs: float = 200.0
    max_steps: int | None = None           # overrides epochs when set
    #: wall-clock budget, seconds: after ``calibration_steps`` the step count is set so
    #: the run ends within it (validation and export included roughly); None = off
    time_budget_s: float | None = None
    calibration_steps: int = 50
    precision: str = "auto"                # auto (fp16 on GPU, bf16 on CPU) | fp32 | bf16 | fp16
    device: str = "auto"
    num_threads: int = 0                   # CPU threads (0: torch default)
    channels_last: bool = False            # NHWC weights: ~30% faster CPU steps for FastViT
    checkpoint_every: int = 500
    val_every: int = 1000
    log_every: int = 20
    seed: int = 0
    out_dir: str = "runs/train"
    model_id: str = ""
    training_data_id: str = ""
    detector: dict[str, Any] = field(default_factory=dict)  # task detector: DetectorTrainSettings

    def __post_init__(self) -> None:
        if self.batch_size <= 0 or self.checkpoint_every <= 0 or self.val_every <= 0:
            raise ValueError("batch_size, checkpoint_every and val_every must be > 0")
        if self.precision not in ("auto", "fp32", "bf16", "fp16"):
            raise ValueError(f"precision must be auto, fp32, bf16 or fp16, got {self.precision!r}")
        if self.max_steps is not None and self.max_steps <= 0:
            raise ValueError("max_steps must be > 0")
        if self.time_budget_s is not None and (self.time_budget_s <= 0
                                               or self.calibration_steps < 1):
            raise ValueError("time_budget_s and calibration_steps must be > 0")

    def to_dict(self) -> dict[str, Any]:
        return _to_plain(dataclasses.asdict(self))


def _to_plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _to_plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_to_plain(v) for v in value]
    return value


_NESTED = {"model": ModelConfig, "data": DataConfig, "optim": OptimConfig,
           "loss": LossConfig}


def _build(cls: type, values: dict[str, Any], where: str) -> Any:
    names = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - set(names))
    if unknown:
        raise ValueError(f"unknown key(s) in {where or 'config'}: {', '.join(unknown)}")
    kwargs = {}
    for key, value in values.items():
        nested = _NESTED.get(key) if cls is TrainConfig else None
        if cls is DataConfig and key == "augment":
            nested = AugmentConfig
        if nested is not None and isinstance(value, dict):
            if nested is ModelConfig:
                value = ModelConfig.from_dict(value) if hasattr(ModelConfig, "from_dict") \
                    else ModelConfig(**value)
            else:
                value = _build(nested, value, f"{where}{key}.")
        elif isinstance(value, list) and key in ("scale_range",):
            value = tuple(value)
        kwargs[key] = value
    return cls(**kwargs)


def _apply_override(tree: dict[str, Any], override: str) -> None:
    if "=" not in override:
        raise ValueError(f"override {override!r} is not key=value")
    key, raw = override.split("=", 1)
    node = tree
    parts = key.strip().split(".")
    for part in parts[:-1]:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise ValueError(f"override {override!r}: {part} is not a section")
    node[parts[-1]] = yaml.safe_load(raw)


def _resolve_init_from(tree: dict[str, Any]) -> None:
    """``init_from: shipped`` names the model inside the package; a fine-tune config may
    leave ``model:`` out, and then takes the network config of the file it starts from."""
    init = tree.get("init_from")
    if not init:
        return
    if init == "shipped":
        from rejshand_ros.perception.predictor import default_model_path

        init = default_model_path()
    from rejshand_ros.model.model_file import ModelFileError, read_model_metadata

    try:
        meta = read_model_metadata(init)
    except ModelFileError as exc:
        raise ValueError(f"init_from: {exc}") from exc
    tree["init_from"] = str(init)
    if "model" not in tree:
        tree["model"] = meta.config.to_dict() if hasattr(meta.config, "to_dict") \
            else dataclasses.asdict(meta.config)


def train_config_from_dict(values: dict[str, Any], overrides: list[str] = ()) -> TrainConfig:
    tree = dict(values or {})
    for override in overrides:
        _apply_override(tree, override)
    _resolve_init_from(tree)
    return _build(TrainConfig, tree, "")


def load_train_config(path: str | Path, overrides: list[str] = ()) -> TrainConfig:
    """Read a YAML training config; raises ValueError naming the file on any problem."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"training config not found: {path}")
    try:
        values = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ValueError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(values, dict):
        raise ValueError(f"{path}: expected a mapping at the top level")
    try:
        return train_config_from_dict(values, overrides)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{path}: {exc}") from exc
