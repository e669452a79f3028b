"""Words for people in Vietnamese and English, kept in TOML files shipped beside the code: in each table,
`key = ["Vietnamese", "English"]`, read once when the module that needs them is imported."""

from __future__ import annotations

import tomllib
from importlib.resources import files

Bilingual = dict[str, tuple[str, str]]


def read_words(package: str, *path: str) -> dict[str, Bilingual]:
    """The tables of a shipped words file, each {key: (vi, en)} in the file's order."""
    resource = files(package)
    for part in path:
        resource = resource / part
    tables = tomllib.loads(resource.read_text(encoding="utf-8"))
    return {name: {key: (vi, en) for key, (vi, en) in rows.items()} for name, rows in tables.items()}
