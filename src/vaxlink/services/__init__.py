"""Use cases. Services flush, never commit: the caller (CLI command, web request) owns the transaction."""
