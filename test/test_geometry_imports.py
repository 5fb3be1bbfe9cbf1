"""The geometry, keypoint and metric modules import without ROS."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = r"""
import importlib.abc, sys

class BlockRos(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        top = name.split(".")[0]
        if top == "rclpy" or top.endswith("_msgs"):
            raise ImportError(f"blocked ROS import: {name}")
        return None

sys.meta_path.insert(0, BlockRos())
sys.modules["rclpy"] = None
import rejshand_ros.geometry.keypoints
import rejshand_ros.evaluation.metrics
import rejshand_ros.geometry.procrustes
import rejshand_ros.geometry.regressor
import rejshand_ros.geometry.mano
import rejshand_ros.geometry.crop
loaded = [m for m in sys.modules if m.startswith("rclpy") or m.split(".")[0].endswith("_msgs")]
assert not [m for m in loaded if sys.modules[m] is not None], loaded
print("ok")
"""


def test_modules_import_with_rclpy_blocked():
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "ok"
