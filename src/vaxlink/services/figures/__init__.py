"""Figures: each citizen's vaccination status and the coverage statistics, kept by difference and checked
against a full recomputation, and the supervisors' dashboard built on them."""
