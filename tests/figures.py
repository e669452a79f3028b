"""The kept figures and how they differ from a recomputation: `vaxlink.services.figures.figures_check`, which
`vaxlink stats refresh --check` uses too."""

from vaxlink.services.figures.figures_check import (
    KEPT,
    KEYS,
    differences,
    differing_cells,
    from_scratch,
    kept,
)

__all__ = ["KEPT", "KEYS", "differences", "differing_cells", "from_scratch", "kept"]
