"""Synthetic provinces: a register snapshot, a dose batch with realistic errors, and the truth."""

from vaxlink.simulation.population import ProvinceSpec
from vaxlink.simulation.rates import ErrorRates
from vaxlink.simulation.simulate import (
    ProvinceResult,
    SimulationSummary,
    generate_province,
    province_specs,
    simulate,
    simulate_provinces,
)

__all__ = [
    "ErrorRates",
    "ProvinceResult",
    "ProvinceSpec",
    "SimulationSummary",
    "generate_province",
    "province_specs",
    "simulate",
    "simulate_provinces",
]
