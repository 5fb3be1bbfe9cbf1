"""Datasets in the FreiHAND layout (FreiHAND itself and rejshand-synth output)."""
