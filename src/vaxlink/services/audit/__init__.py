"""The audit log: an append-only hash chain of who did what, written in the caller's transaction."""
