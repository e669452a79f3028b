"""vaxlink: attach vaccination records to the population register, explain mismatches, prove status."""

__version__ = "0.1.0"
