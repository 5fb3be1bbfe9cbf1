"""The peers of ``rejshand-bench --suite peers``: MediaPipe Hands 0.10.14, run in its own
venv (``.venv-peers``, made by ``scripts/setup_peers.sh``) by ``mediapipe_worker.py``,
driven frame by frame from the bench process (``worker_client``), and the pure
comparison of two pipelines against ground truth (``compare``)."""
