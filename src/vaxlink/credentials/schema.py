"""The DCC JSON schemas (1.0.0 to 1.3.3, shipped in data/schema) and the EU value sets for vaccination.

A payload is checked against the schema of its own `ver`; an unknown patch or minor version falls back to
the newest schema of the same major version, as the scheme's compatibility rules allow.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from functools import cache
from importlib import resources
from typing import Any

import jsonschema
from jsonschema import Draft202012Validator

_VERSION = re.compile(r"^(\d+)\.(\d+)\.(\d+)$")


def _version_key(v: str) -> tuple[int, int, int]:
    m = _VERSION.match(v)
    return (int(m.group(1)), int(m.group(2)), int(m.group(3))) if m else (0, 0, 0)


@cache
def schema_versions() -> tuple[str, ...]:
    files = resources.files("vaxlink.credentials").joinpath("data", "schema")
    names = [p.name[:-5] for p in files.iterdir() if p.name.endswith(".json")]
    return tuple(sorted((n for n in names if _VERSION.match(n)), key=_version_key))


def schema_for(version: object) -> str:
    """The shipped schema version to check a payload of `version` with."""
    versions = schema_versions()
    if isinstance(version, str) and version in versions:
        return version
    if isinstance(version, str) and _VERSION.match(version):
        major = _version_key(version)[0]
        same = [
            v for v in versions if _version_key(v)[0] == major and _version_key(v) <= _version_key(version)
        ]
        if same:
            return same[-1]
    return versions[-1]


_ANNOTATIONS = {"title", "description", "examples", "$comment"}


def _inline(node: Any, defs: dict[str, Any], depth: int = 0) -> Any:
    """The schema with its local `$ref`s replaced by their targets: resolving references took half the time
    of a validation. The DCC schemas have no recursive definitions; depth guards against one anyway."""
    if depth > 32:
        raise ValueError("schema references nest too deeply")
    if isinstance(node, list):
        return [_inline(x, defs, depth) for x in node]
    if not isinstance(node, dict):
        return node
    out = {k: _inline(v, defs, depth) for k, v in node.items() if k not in ("$ref", "$defs")}
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/") and ref[8:] in defs:
        target = _inline(defs[ref[8:]], defs, depth + 1)
        if set(target) & set(out) - _ANNOTATIONS:
            return {**out, "allOf": [*out.get("allOf", []), target]}
        return {**target, **out}
    if isinstance(ref, str):
        out["$ref"] = ref
    return out


# ------------------------------------------------------------------------------------------------ fast path

Predicate = Callable[[Any], bool]
_IGNORED = _ANNOTATIONS | {"format", "valueset-uri", "$schema", "$id"}


def _is_type(name: str, value: Any) -> bool:
    if name == "string":
        return isinstance(value, str)
    if name == "integer":
        return (isinstance(value, int) and not isinstance(value, bool)) or (
            isinstance(value, float) and value.is_integer()
        )
    if name == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if name == "object":
        return isinstance(value, dict)
    if name == "array":
        return isinstance(value, list)
    if name == "boolean":
        return isinstance(value, bool)
    if name == "null":
        return value is None
    raise ValueError(f"unknown JSON type {name!r}")


_PY_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "object": (dict,),
    "array": (list,),
    "boolean": (bool,),
    "null": (type(None),),
}


def _typed(names: list[str]) -> Predicate:
    # Plain loops and isinstance over tuples: this runs for every value of every certificate verified.
    if all(n in _PY_TYPES for n in names) and "boolean" not in names:
        types = tuple(t for n in names for t in _PY_TYPES[n])
        return lambda v: isinstance(v, types)
    return lambda v: any(_is_type(n, v) for n in names)


def _properties(props: dict[str, Predicate]) -> Predicate:
    items = list(props.items())

    def check(v: Any) -> bool:
        if not isinstance(v, dict):
            return True
        for key, sub in items:  # noqa: SIM110 - a loop beats all()/any() over a generator on this hot path
            if key in v and not sub(v[key]):
                return False
        return True

    return check


def _required(keys: list[str]) -> Predicate:
    def check(v: Any) -> bool:
        if not isinstance(v, dict):
            return True
        for key in keys:  # noqa: SIM110 - a loop beats all()/any() over a generator on this hot path
            if key not in v:
                return False
        return True

    return check


def _pattern(rx: re.Pattern[str]) -> Predicate:
    search = rx.search
    return lambda v: not isinstance(v, str) or search(v) is not None


def _length(kind: type, limit: float, upper: bool) -> Predicate:
    def check(v: Any) -> bool:
        if kind is float:
            if not _is_type("number", v):
                return True
            size = v
        elif (kind is str and isinstance(v, str)) or (kind is list and isinstance(v, list)):
            size = len(v)
        else:
            return True
        return bool(size <= limit) if upper else bool(size >= limit)

    return check


def _items(item: Predicate) -> Predicate:
    def check(v: Any) -> bool:
        if not isinstance(v, list):
            return True
        for x in v:  # noqa: SIM110 - a loop beats all()/any() over a generator on this hot path
            if not item(x):
                return False
        return True

    return check


def _one_of(subs: list[Predicate]) -> Predicate:
    def check(v: Any) -> bool:
        hits = 0
        for f in subs:
            if f(v):
                hits += 1
                if hits > 1:
                    return False
        return hits == 1

    return check


def _any_of(subs: list[Predicate]) -> Predicate:
    def check(v: Any) -> bool:
        for f in subs:  # noqa: SIM110 - a loop beats all()/any() over a generator on this hot path
            if f(v):
                return True
        return False

    return check


def _all_of(subs: list[Predicate]) -> Predicate:
    if len(subs) == 1:
        return subs[0]

    def check(v: Any) -> bool:
        for f in subs:  # noqa: SIM110 - a loop beats all()/any() over a generator on this hot path
            if not f(v):
                return False
        return True

    return check


def _compile(node: Any) -> Predicate:
    """A predicate equal to the schema's verdict, for the keywords the DCC schemas use (else ValueError).

    jsonschema walks every keyword through generic machinery; a DCC validates several times faster as a
    few closures. jsonschema still explains a failure, and a unit test holds the two to the same verdicts.
    """
    if node is True or node == {}:
        return lambda _: True
    if not isinstance(node, dict):
        raise ValueError("schema node is not an object")
    checks: list[Predicate] = []
    for key, arg in node.items():
        if key in _IGNORED:
            continue
        if key == "type":
            names = [arg] if isinstance(arg, str) else list(arg)
            for n in names:
                _is_type(n, None)
            checks.append(_typed(names))
        elif key == "properties":
            checks.append(_properties({k: _compile(sub) for k, sub in arg.items()}))
        elif key == "required":
            checks.append(_required(list(arg)))
        elif key == "pattern":
            checks.append(_pattern(re.compile(arg)))
        elif key in ("maxLength", "minLength"):
            checks.append(_length(str, int(arg), key == "maxLength"))
        elif key in ("maxItems", "minItems"):
            checks.append(_length(list, int(arg), key == "maxItems"))
        elif key in ("maximum", "minimum"):
            checks.append(_length(float, float(arg), key == "maximum"))
        elif key == "items":
            checks.append(_items(_compile(arg)))
        elif key == "oneOf":
            checks.append(_one_of([_compile(x) for x in arg]))
        elif key == "anyOf":
            checks.append(_any_of([_compile(x) for x in arg]))
        elif key == "allOf":
            checks.append(_all_of([_compile(x) for x in arg]))
        else:
            raise ValueError(f"keyword {key!r} is not supported by the fast path")
    return _all_of(checks)


@cache
def fast_validator(version: str) -> Predicate | None:
    try:
        return _compile(validator(version).schema)
    except ValueError:
        return None


@cache
def validator(version: str) -> Draft202012Validator:
    text = (
        resources.files("vaxlink.credentials")
        .joinpath("data", "schema", f"{version}.json")
        .read_text("utf-8")
    )
    original = json.loads(text)
    schema = _inline(original, original.get("$defs", {}))
    # Formats stay annotations, as JSON Schema 2020-12 defines them: issuers in the field write partial dates
    # and date-times where old schemas said "date", and the scheme's own validators accept them.
    return Draft202012Validator(schema)


def schema_errors(payload: object) -> tuple[str, list[str]]:
    """The schema version used and the payload's violations of it (empty when valid), shortest path first."""
    version = schema_for(payload.get("ver") if isinstance(payload, dict) else None)
    fast = fast_validator(version)
    if fast(payload) if fast is not None else validator(version).is_valid(payload):
        return version, []
    errors = sorted(validator(version).iter_errors(payload), key=lambda e: (len(e.path), str(e.path)))
    return version, [_describe(e) for e in errors[:5]]


def _describe(error: jsonschema.ValidationError) -> str:
    where = "/".join(str(p) for p in error.absolute_path) or "(root)"
    message = error.message if len(error.message) <= 120 else error.message[:117] + "..."
    return f"{where}: {message}"


# ------------------------------------------------------------------------------------------------ value sets


_OWN_SETS = {"country-2-codes", "test-type", "test-result"}


@cache
def value_set(name: str) -> dict[str, Any]:
    """A value set: the vaccination ones from the domain's shipped copy, test and country ones from ours."""
    if name in _OWN_SETS:
        folder = resources.files("vaxlink.credentials").joinpath("data", "valuesets")
    else:
        folder = resources.files("vaxlink.domain").joinpath("data", "dcc_valuesets")
    values: dict[str, Any] = json.loads(folder.joinpath(f"{name}.json").read_text("utf-8"))["valueSetValues"]
    return values


_FIELDS = {
    "v": {
        "tg": "disease-agent-targeted",
        "vp": "vaccine-prophylaxis",
        "mp": "vaccine-medicinal-product",
        "ma": "vaccine-mah-manf",
        "co": "country-2-codes",
    },
    "t": {"tg": "disease-agent-targeted", "tt": "test-type", "tr": "test-result", "co": "country-2-codes"},
    "r": {"tg": "disease-agent-targeted", "co": "country-2-codes"},
}


def value_set_problems(payload: dict[str, Any]) -> list[str]:
    """Coded fields whose value is in no EU value set (inactive codes are still known: old certificates)."""
    problems: list[str] = []
    for kind, fields in _FIELDS.items():
        entries = payload.get(kind)
        if not isinstance(entries, list):
            continue
        for i, entry in enumerate(entries):
            if not isinstance(entry, dict):
                continue
            for key, set_name in fields.items():
                code = entry.get(key)
                if isinstance(code, str) and code not in value_set(set_name):
                    problems.append(f"{kind}/{i}/{key}: {code}")
    return problems
