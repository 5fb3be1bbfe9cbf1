"""The offline trainer (``rejshand-train``): config, losses, loop, checkpoints."""
