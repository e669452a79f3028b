"""The reconciliation engine: versioned spec, normalise, block, compare, score, classify, explain."""
