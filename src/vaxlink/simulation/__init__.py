"""Synthetic provinces: a register snapshot, a dose batch with realistic errors, and the truth."""
