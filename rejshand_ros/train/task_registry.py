"""The training tasks by name (``TrainConfig.task``): ``pose`` (ReJSHand on hand crops,
``rejshand_ros.train.task``) and ``detector`` (the hand detector on full frames,
``rejshand_ros.detection.task``). Both derive from ``rejshand_ros.train.task.TrainingTask``;
the trainer asks this module, so neither task module imports the other."""

from __future__ import annotations

from typing import Callable

from rejshand_ros.detection.task import DetectorTask
from rejshand_ros.train.config import TrainConfig
from rejshand_ros.train.task import PoseTask, TrainingTask

#: task name (TrainConfig.task) -> constructor
TASKS: dict[str, Callable[[TrainConfig], TrainingTask]] = {"pose": PoseTask,
                                                          "detector": DetectorTask}


def make_task(config: TrainConfig) -> TrainingTask:
    if config.task not in TASKS:
        raise ValueError(f"unknown task {config.task!r} (known: {', '.join(sorted(TASKS))})")
    return TASKS[config.task](config)
