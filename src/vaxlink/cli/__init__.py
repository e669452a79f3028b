"""Typer commands: the operator's entry points."""
