"""The runtime path from an RGB image to HandPredictions (ROS-free).

``pipeline`` (detect when needed -> track -> crop + infer -> smooth) built by
``pipeline_setup`` from a PipelineSettings; ``predictor`` (crop, network, uncrop, camera
geometry) on top of ``inference`` (the engine every network runs on); ``tracking``
(hand tracks, One Euro smoothing); ``frame_stream`` (a live stream without a backlog);
``hand_prediction`` (HandPrediction, the type everything downstream consumes).
"""
