"""A verifier's status lookup: what the holder presents in, the minimum out, with limits and an audit of every answer."""
