"""rejshand_ros: ReJSHand hand pose and mesh estimation, with a thin ROS 2 shell.

The core (geometry, network, data, metrics, predictor) imports neither rclpy nor any
ROS message package; everything under ``rejshand_ros.ros`` does.
"""

from pkgutil import extend_path

# The generated message code (rejshand_ros.msg) is installed into site-packages beside
# the hand-written modules. When a source checkout comes first on sys.path (running
# from the repo root), keep the installed portion reachable so rejshand_ros.msg imports.
__path__ = extend_path(__path__, __name__)

__version__ = "0.1.0"
