"""The MediaPipe estimator: MediaPipe Hands 0.10.14 in a worker process of .venv-peers
(``worker``, never imported here), driven from this interpreter (``client``), its answers
as HandPredictions (``conversion``) behind the HandPipeline interface (``pipeline``)."""
