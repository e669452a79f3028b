"""Reconciliation: import the register, ingest health's dose batches, match them against the register, store the outcomes and answer health."""
