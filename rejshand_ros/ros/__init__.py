"""The ROS 2 shell: nodes, message conversions, launch helpers. Imports rclpy."""
