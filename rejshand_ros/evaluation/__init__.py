"""Scoring hand predictions (ROS-free): ``metrics`` (the official FreiHAND measures),
``freihand`` (prediction files, split scoring, baselines, plots), ``live_scoring``
(frame-by-frame scores of the demo)."""
