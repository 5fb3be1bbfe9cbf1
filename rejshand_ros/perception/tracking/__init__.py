"""Temporal logic between frames: smoothing and hand tracks (ROS-free)."""
