"""The node classes, at module level as in ros2/demos: each module imports rclpy and the
message packages at the top. The executables (``rejshand_ros.ros.hand_pose_node``,
``retarget_node``, ``image_source_node``) answer ``--help`` before importing them."""
