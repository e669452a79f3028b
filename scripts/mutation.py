"""Mutation testing on demand (not part of CI): change a module one small step at a time and see whether
the tests that concern it notice.

Each mutant is one edit of the module's syntax tree: a comparison moved across its boundary or negated, a
whole-number constant moved by one, a condition negated, `and`/`or` swapped, a statement deleted, a
min/max (and_/or_, true/false, any/all) swapped, + and - swapped, or, inside a string holding SQL (a
statement, or a fragment such as a comparison level's condition, in a plain string or in an f-string's
literal parts), one operator or keyword edited or one number moved by one either way. For every mutant
the module's tests run in a fresh `pytest -x -q` on SQLite (PostgreSQL is left out), with a time limit;
the mutant is killed when they fail or time out.

The modules and their tests are listed in scripts/mutation.toml; the mutants judged equivalent (no test
can tell them from the original) are listed with their reason in scripts/mutation-equivalents.toml and
reported apart, never dropped.

    ./scripts/mutation                          # every configured module
    ./scripts/mutation src/vaxlink/domain/status.py --workers 1
    ./scripts/mutation --list src/vaxlink/storage/scope.py
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import copy
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "scripts" / "mutation.toml"
EQUIVALENTS = ROOT / "scripts" / "mutation-equivalents.toml"


# --- the mutants ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Mutant:
    key: str  # stable across runs while the code it edits stays the same: where, what, which occurrence
    line: int
    description: str
    source: str


_COMPARE_SWAP: dict[type[ast.cmpop], type[ast.cmpop]] = {
    ast.Lt: ast.LtE,
    ast.LtE: ast.Lt,
    ast.Gt: ast.GtE,
    ast.GtE: ast.Gt,
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
    ast.Is: ast.IsNot,
    ast.IsNot: ast.Is,
    ast.In: ast.NotIn,
    ast.NotIn: ast.In,
}
_CALL_SWAP = {
    "min": "max",
    "max": "min",
    "and_": "or_",
    "or_": "and_",
    "true": "false",
    "false": "true",
    "any": "all",
    "all": "any",
}
_SQL = re.compile(r"\b(SELECT|WHERE|JOIN|INSERT INTO|UPDATE|DELETE FROM)\b")
# A fragment of SQL without a statement keyword: a comparison level's condition ("r.sex = c.sex"), a veto's
# join (" OR "), a CASE. Keywords in capitals only, so that an English message is never taken for SQL.
_SQL_FRAGMENT = re.compile(
    r"\b(AND|OR|IS NULL|IS NOT NULL|CASE WHEN|NOT IN|IN \(|THEN|ELSE)\b"
    r"|\b[a-z_]\w*\.[a-z_]\w*\s*(=|<>|!=|<=|>=|<|>)"
    r"|\b\w+_level\s*(=|<>|IN\b)"
    r"|\b(least|greatest|levenshtein|substr|coalesce|position)\("
)
# A number in SQL text (not part of a name, a quoted code or another number): moved by one either way.
_SQL_NUMBER = re.compile(r"(?<![\w.'])\d+(?:\.\d+)?(?![\w.'])")
# One edit per match: (pattern, replacement, label). Applied to the text of SQL string constants only.
_SQL_EDITS: list[tuple[re.Pattern[str], str, str]] = [
    (re.compile(r"(?<![<>!=])=(?![=>])"), "<>", "= → <>"),
    (re.compile(r"<>|!="), "=", "<> → ="),
    (re.compile(r"<=(?!>)"), "<", "<= → <"),
    (re.compile(r">="), ">", ">= → >"),
    (re.compile(r"(?<![<-])<(?![=>])"), "<=", "< → <="),
    (re.compile(r"(?<![-=<])>(?!=)"), ">=", "> → >="),
    (re.compile(r"\bAND\b", re.IGNORECASE), "OR", "AND → OR"),
    (re.compile(r"\bOR\b", re.IGNORECASE), "AND", "OR → AND"),
    (re.compile(r"\bIS NOT NULL\b", re.IGNORECASE), "IS NULL", "IS NOT NULL → IS NULL"),
    (re.compile(r"\bIS NULL\b", re.IGNORECASE), "IS NOT NULL", "IS NULL → IS NOT NULL"),
    (re.compile(r"\bNOT EXISTS\b", re.IGNORECASE), "EXISTS", "NOT EXISTS → EXISTS"),
    (re.compile(r"\bNOT IN\b", re.IGNORECASE), "IN", "NOT IN → IN"),
    (re.compile(r"\bleast\(", re.IGNORECASE), "greatest(", "least → greatest"),
    (re.compile(r"\bgreatest\(", re.IGNORECASE), "least(", "greatest → least"),
    (re.compile(r"\bmin\(", re.IGNORECASE), "max(", "min → max"),
    (re.compile(r"\bmax\(", re.IGNORECASE), "min(", "max → min"),
    (re.compile(r"\bDISTINCT\s+", re.IGNORECASE), "", "DISTINCT dropped"),
    (re.compile(r"\bDESC\b", re.IGNORECASE), "ASC", "DESC → ASC"),
    (re.compile(r"\bLEFT JOIN\b", re.IGNORECASE), "JOIN", "LEFT JOIN → JOIN"),
]


def _docstring_nodes(tree: ast.AST) -> set[int]:
    out: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            first = node.body[0] if node.body else None
            if (
                isinstance(first, ast.Expr)
                and isinstance(first.value, ast.Constant)
                and isinstance(first.value.value, str)
            ):
                out.add(id(first))
                out.add(id(first.value))
    return out


def _is_sql(text: str) -> bool:
    return bool(_SQL.search(text) or _SQL_FRAGMENT.search(text))


def _sql_fstring_parts(tree: ast.AST) -> set[int]:
    """The literal parts of the f-strings that hold SQL: they are mutated as SQL text (the expressions
    between them are not)."""
    out: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            parts = [v for v in node.values if isinstance(v, ast.Constant) and isinstance(v.value, str)]
            if _is_sql(" ".join(str(v.value) for v in parts)):
                out.update(id(v) for v in parts)
    return out


def _skipped_nodes(tree: ast.AST) -> set[int]:
    """Nodes no mutant touches: docstrings, annotations, `if TYPE_CHECKING` blocks, f-strings (messages)
    but for the literal parts of those that hold SQL."""
    out = _docstring_nodes(tree)

    def mark(n: ast.AST | None) -> None:
        if n is not None:
            out.update(id(x) for x in ast.walk(n))

    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            mark(node.returns)
            for a in [*node.args.args, *node.args.kwonlyargs, *node.args.posonlyargs]:
                mark(a.annotation)
            mark(node.args.vararg.annotation if node.args.vararg else None)
            mark(node.args.kwarg.annotation if node.args.kwarg else None)
        elif isinstance(node, ast.AnnAssign):
            mark(node.annotation)
        elif isinstance(node, ast.JoinedStr) or (
            isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"
        ):
            mark(node)
    return out - _sql_fstring_parts(tree)


def _enclosing(tree: ast.AST) -> dict[int, str]:
    """For each node: the qualified name of the function or class around it (`<module>` at top level)."""
    where: dict[int, str] = {}

    def visit(node: ast.AST, name: str) -> None:
        for child in ast.iter_child_nodes(node):
            inner = name
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                inner = child.name if name == "<module>" else f"{name}.{child.name}"
            where[id(child)] = inner
            visit(child, inner)

    visit(tree, "<module>")
    return where


def _in_function(tree: ast.AST) -> set[int]:
    inside: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for stmt in node.body:
                inside.update(id(x) for x in ast.walk(stmt))
    return inside


Edit = Callable[[ast.AST], None]


def _sql_edits(v: str) -> Iterator[tuple[str, Edit]]:
    """One edit of SQL text per operator, keyword or number in it."""

    def at(m: re.Match[str], repl: str) -> Edit:
        def sql(n: ast.AST) -> None:
            assert isinstance(n, ast.Constant)
            n.value = n.value[: m.start()] + repl + n.value[m.end() :]

        return sql

    def where(m: re.Match[str]) -> str:
        return " ".join(v[max(0, m.start() - 25) : m.end() + 25].split())

    for pattern, repl, label in _SQL_EDITS:
        for k, m in enumerate(pattern.finditer(v)):
            yield f"SQL {label} #{k + 1} in «{where(m)}»", at(m, repl)
    for k, m in enumerate(_SQL_NUMBER.finditer(v)):
        n = m.group()
        for step in (1, -1):
            moved = str(int(n) + step) if n.isdigit() else repr(float(n) + step)
            yield f"SQL {n} → {moved} #{k + 1} in «{where(m)}»", at(m, moved)


def _edits(
    node: ast.AST, in_function: bool, is_doc: bool, sql_part: bool = False
) -> Iterator[tuple[str, Edit]]:
    """The (description, edit) pairs one node offers; `edit` changes the node in place."""
    if isinstance(node, ast.Compare):
        for i, op in enumerate(node.ops):
            new = _COMPARE_SWAP.get(type(op))
            if new is not None:

                def swap(n: ast.AST, i: int = i, new: type[ast.cmpop] = new) -> None:
                    assert isinstance(n, ast.Compare)
                    n.ops[i] = new()

                yield f"{_op_text(op)} → {_op_text(new())}", swap
    elif isinstance(node, ast.Constant) and not is_doc:
        v = node.value
        if isinstance(v, bool):

            def flip(n: ast.AST) -> None:
                assert isinstance(n, ast.Constant)
                n.value = not n.value

            yield f"{v} → {not v}", flip
        elif isinstance(v, int | float):

            def shift(n: ast.AST) -> None:
                assert isinstance(n, ast.Constant)
                n.value = n.value + 1

            yield f"{v!r} → {v + 1!r}", shift
        elif isinstance(v, str) and (sql_part or _is_sql(v)):
            yield from _sql_edits(v)
    elif isinstance(node, ast.BoolOp):

        def andor(n: ast.AST) -> None:
            assert isinstance(n, ast.BoolOp)
            n.op = ast.Or() if isinstance(n.op, ast.And) else ast.And()

        yield ("and → or" if isinstance(node.op, ast.And) else "or → and"), andor
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        yield "`not` dropped", lambda n: None  # replaced by the parent: see _apply
    elif isinstance(node, ast.If | ast.While | ast.IfExp):

        def negate(n: ast.AST) -> None:
            assert isinstance(n, ast.If | ast.While | ast.IfExp)
            n.test = ast.UnaryOp(op=ast.Not(), operand=n.test)

        yield "condition negated", negate
    elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Sub):

        def plusminus(n: ast.AST) -> None:
            assert isinstance(n, ast.BinOp)
            n.op = ast.Sub() if isinstance(n.op, ast.Add) else ast.Add()

        yield ("+ → -" if isinstance(node.op, ast.Add) else "- → +"), plusminus
    elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _CALL_SWAP:
        other = _CALL_SWAP[node.func.id]

        def call(n: ast.AST, other: str = other) -> None:
            assert isinstance(n, ast.Call) and isinstance(n.func, ast.Name)
            n.func.id = other

        yield f"{node.func.id}() → {other}()", call
    if (
        in_function
        and isinstance(node, ast.stmt)
        # Simple statements only: a compound one's condition is negated and its inner statements deleted.
        and not isinstance(node, ast.Pass | ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
        and not isinstance(node, ast.If | ast.For | ast.While | ast.Try | ast.With | ast.Match)
        and not is_doc
    ):
        yield "statement deleted", lambda n: None  # replaced by the parent: see _apply


def _op_text(op: ast.cmpop) -> str:
    return {
        ast.Lt: "<",
        ast.LtE: "<=",
        ast.Gt: ">",
        ast.GtE: ">=",
        ast.Eq: "==",
        ast.NotEq: "!=",
        ast.Is: "is",
        ast.IsNot: "is not",
        ast.In: "in",
        ast.NotIn: "not in",
    }[type(op)]


class _Replace(ast.NodeTransformer):
    """Replaces one node (found by identity) by what `make` returns: a `pass`, or a `not`'s operand."""

    def __init__(self, target: ast.AST, make: Callable[[ast.AST], ast.AST]) -> None:
        self.target, self.make = target, make

    def visit(self, node: ast.AST) -> ast.AST:
        if node is self.target:
            return ast.copy_location(self.make(node), node)
        return self.generic_visit(node)


def mutants_of(path: Path) -> list[Mutant]:
    text = path.read_text("utf-8")
    tree = ast.parse(text)
    skip = _skipped_nodes(tree)
    docs = _docstring_nodes(tree)
    sql_parts = _sql_fstring_parts(tree)
    where = _enclosing(tree)
    inside = _in_function(tree)
    lines = text.splitlines()
    nodes = list(ast.walk(tree))
    out: list[Mutant] = []
    seen: dict[str, int] = {}
    for index, node in enumerate(nodes):
        if id(node) in skip and not isinstance(node, ast.stmt):
            continue
        lineno = getattr(node, "lineno", 0)
        if lineno and "no mutate" in lines[lineno - 1]:
            continue
        for description, edit in _edits(node, id(node) in inside, id(node) in docs, id(node) in sql_parts):
            if description == "statement deleted" and id(node) in skip:
                continue
            clone = copy.deepcopy(tree)
            target = list(ast.walk(clone))[index]
            if description == "statement deleted":
                clone = _Replace(target, lambda n: ast.Pass()).visit(clone)
            elif description == "`not` dropped":
                clone = _Replace(target, lambda n: n.operand).visit(clone)  # type: ignore[attr-defined]
            else:
                edit(target)
            ast.fix_missing_locations(clone)
            source = ast.unparse(clone)
            code = lines[lineno - 1].strip() if lineno else ""
            base = f"{where.get(id(node), '<module>')} | {code} | {description}"
            seen[base] = seen.get(base, 0) + 1
            key = base if seen[base] == 1 else f"{base} | #{seen[base]}"
            out.append(Mutant(key, lineno, description, source))
    return out


# --- running them --------------------------------------------------------------------------------


@dataclass
class ModuleConfig:
    path: str
    tests: list[str]
    timeout: float
    pytest_args: list[str] = field(default_factory=list)
    staged: bool = False  # each test file in its own run, in order, up to the first that fails


def load_config(path: Path) -> list[ModuleConfig]:
    data = tomllib.loads(path.read_text("utf-8"))
    default_timeout = float(data.get("timeout", 300))
    return [
        ModuleConfig(
            path=m["path"],
            tests=list(m["tests"]),
            timeout=float(m.get("timeout", default_timeout)),
            pytest_args=list(m.get("pytest_args", [])),
            staged=bool(m.get("staged", False)),
        )
        for m in data["module"]
    ]


def load_equivalents(path: Path) -> dict[tuple[str, str], str]:
    if not path.exists():
        return {}
    data = tomllib.loads(path.read_text("utf-8"))
    return {(e["module"], e["key"]): e["reason"] for e in data.get("equivalent", [])}


def _expand(patterns: list[str]) -> list[str]:
    out: list[str] = []
    for p in patterns:
        found = sorted(str(x.relative_to(ROOT)) for x in ROOT.glob(p)) if any(c in p for c in "*?[") else [p]
        out.extend(f for f in found if (ROOT / f.split("::")[0]).exists())
    return out


class Overlay:
    """A copy of src/ that shadows the installed package (PYTHONPATH), so the worktree is never edited."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="vaxlink-mutation-"))
        shutil.copytree(ROOT / "src", self.dir / "src", ignore=shutil.ignore_patterns("__pycache__"))

    def write(self, relpath: str, source: str) -> None:
        target = self.dir / relpath
        target.write_text(source, "utf-8")
        cache = target.parent / "__pycache__"
        for pyc in cache.glob(target.stem + ".*.pyc"):
            pyc.unlink()

    def restore(self, relpath: str) -> None:
        self.write(relpath, (ROOT / relpath).read_text("utf-8"))

    def close(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)


# Imported once by each worker before it forks a child per mutant: what every test run would otherwise
# import again (a few seconds a run on these machines). Nothing of vaxlink, whose module is the mutant.
_PRELOAD = (
    "sqlalchemy",
    "sqlalchemy.orm",
    "alembic",
    "alembic.context",
    "alembic.command",
    "hypothesis",
    "hypothesis.strategies",
    "cryptography.x509",
    "cryptography.hazmat.primitives.asymmetric.ec",
    "pydantic",
    "pydantic_settings",
    "fastapi",
    "jinja2",
    "typer",
    "cbor2",
    "psycopg",
    "duckdb",
    "numpy",
    "pyarrow",
    "pyarrow.compute",
    "pyarrow.parquet",
)


def serve() -> None:
    """A worker: preload, then for each request line (JSON: pytest arguments) fork a child that runs
    pytest on the overlay and answer its exit status (`timeout` when killed)."""
    import importlib
    import importlib.metadata
    import json

    # A module that fails to import here only costs its import time later, in each child.
    for name in _PRELOAD:
        with contextlib.suppress(Exception):
            importlib.import_module(name)
    import pytest

    for ep in importlib.metadata.entry_points(group="pytest11"):
        with contextlib.suppress(Exception):
            importlib.import_module(ep.value.split(":")[0])
    print("ready", flush=True)
    for line in sys.stdin:
        req = json.loads(line)
        pid = os.fork()
        if pid == 0:
            os.setsid()
            log = os.open(req["log"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            os.dup2(log, 1)
            os.dup2(log, 2)
            try:
                code = int(pytest.main(req["args"]))
            except BaseException:
                import traceback

                traceback.print_exc()
                code = 3
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
        deadline = time.monotonic() + float(req["timeout"])
        answer = "timeout"
        while time.monotonic() < deadline:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                answer = str(os.waitstatus_to_exitcode(status))
                break
            time.sleep(0.05)
        else:
            os.killpg(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        print(answer, flush=True)


class Worker:
    """One overlay and the worker process that runs tests on it."""

    def __init__(self) -> None:
        self.overlay = Overlay()
        env = {k: v for k, v in os.environ.items() if k not in ("VAXLINK_TEST_POSTGRES_URL", "CI")}
        env["PYTHONPATH"] = str(self.overlay.dir / "src")
        env["HYPOTHESIS_PROFILE"] = "mutation"
        self.proc = subprocess.Popen(  # noqa: S603 - this script itself, by its own path
            [sys.executable, str(Path(__file__).resolve()), "--serve"],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        ready = self.proc.stdout.readline().strip()
        if ready != "ready":
            raise RuntimeError(f"mutation worker did not start: {ready!r}")

    def run(self, cfg: ModuleConfig, tests: list[str], timeout: float) -> tuple[str, float]:
        """`killed`, `survived`, `timeout` or `error` (the tests did not run), and the seconds it took.

        A `staged` module runs its test files one pytest run each, in order, and stops at the first that
        fails: a mutant the first file kills costs neither the collection nor the fixtures of the others."""
        if not cfg.staged or len(tests) < 2:
            return self._run_once(cfg, tests, timeout)
        took = 0.0
        status = "survived"
        for test in tests:
            status, t = self._run_once(cfg, [test], max(1.0, timeout - took))
            took += t
            if status != "survived":
                break
        return status, took

    def _run_once(self, cfg: ModuleConfig, tests: list[str], timeout: float) -> tuple[str, float]:
        import json

        assert self.proc.stdin is not None and self.proc.stdout is not None
        # The worker imported the plugins before forking: pytest cannot rewrite their asserts, which is fine.
        warn = ["-W", "ignore::pytest.PytestAssertRewriteWarning"]
        # A temporary directory of its own: pytest prunes the shared one's older runs, other runs' included.
        basetemp = f"--basetemp={self.overlay.dir / 'tmp'}"
        args = ["-x", "-q", "-p", "no:cacheprovider", basetemp, *warn, *cfg.pytest_args, *tests]
        start = time.monotonic()
        self.log = self.overlay.dir / "pytest.log"
        request = {"args": args, "timeout": timeout, "log": str(self.log)}
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        answer = self.proc.stdout.readline().strip()
        took = time.monotonic() - start
        if answer == "timeout":
            return "timeout", took
        code = int(answer)
        if code == 0:
            return "survived", took
        # Tests failed (1), interrupted (2), an internal error (3), or a conftest that no longer imports
        # (4: the mutant breaks the import itself; the baseline run rules out a bad command line).
        if code in (1, 2, 3, 4):
            return "killed", took
        return f"error (pytest exit {code})", took

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        self.proc.wait(timeout=30)
        self.overlay.close()


def run_module(
    cfg: ModuleConfig,
    equivalents: dict[tuple[str, str], str],
    workers: int,
    only: list[str] | None,
    shard: tuple[int, int] | None = None,
    results_file: Path | None = None,
) -> tuple[int, int, int]:
    tests = _expand(cfg.tests)
    mutants = mutants_of(ROOT / cfg.path)
    if only:
        mutants = [m for m in mutants if any(o in m.key for o in only)]
    if shard is not None:
        index, count = shard
        mutants = mutants[index::count]
    print(f"\n== {cfg.path}: {len(mutants)} mutants; tests: {' '.join(tests) or '(none found)'}", flush=True)
    if not tests:
        print("   no test file exists yet: skipped")
        return 0, len(mutants), 0
    overlays = [Worker() for _ in range(max(1, workers))]
    try:
        status, took = overlays[0].run(cfg, tests, cfg.timeout * 3)
        if status != "survived":
            print(f"   the tests fail on the unchanged module ({status}): nothing to measure")
            print(overlays[0].log.read_text("utf-8", errors="replace")[-3000:])
            return 0, len(mutants), 0
        timeout = max(cfg.timeout, 3 * took + 10)
        print(f"   baseline {took:.1f} s; per-mutant limit {timeout:.0f} s", flush=True)
        free = list(overlays)
        lock = threading.Lock()
        results: dict[str, str] = {}

        def one(m: Mutant) -> None:
            with lock:
                ov = free.pop()
            try:
                ov.overlay.write(cfg.path, m.source)
                try:
                    st, _ = ov.run(cfg, tests, timeout)
                finally:
                    ov.overlay.restore(cfg.path)
            finally:
                with lock:
                    free.append(ov)
            results[m.key] = st
            if results_file is not None:
                with lock, results_file.open("a", encoding="utf-8") as out:
                    out.write(f"{cfg.path}\t{st}\t{m.key}\n")
            mark = {"killed": ".", "survived": "S", "timeout": "T"}.get(st, "E")
            print(mark, end="", flush=True)
            if st.startswith("error"):
                print(f"\n   {m.key}: {st}", flush=True)

        with ThreadPoolExecutor(max_workers=len(overlays)) as pool:
            list(pool.map(one, mutants))
        print()
    finally:
        for ov in overlays:
            ov.close()
    killed = sum(1 for m in mutants if results[m.key] in ("killed", "timeout"))
    equivalent = [m for m in mutants if (cfg.path, m.key) in equivalents]
    survivors = [m for m in mutants if results[m.key] == "survived" and (cfg.path, m.key) not in equivalents]
    for m in equivalent:
        reason = equivalents[(cfg.path, m.key)]
        if results[m.key] != "survived":
            print(f"   listed as equivalent but {results[m.key]} (remove it from the list): {m.key}")
        else:
            print(f"   equivalent: line {m.line}: {m.key}\n      because {reason}")
    for m in survivors:
        print(f"   SURVIVED line {m.line}: {m.key}")
    errors = [m for m in mutants if results[m.key].startswith("error")]
    for m in errors:
        print(f"   error line {m.line}: {m.key}")
    keys = {m.key for m in mutants}
    for mod, key in equivalents:
        if mod == cfg.path and key not in keys and not only:
            print(f"   stale equivalent entry (no such mutant any more): {key}")
    n_eq = sum(1 for m in equivalent if results[m.key] == "survived")
    return killed, len(mutants), n_eq


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("modules", nargs="*", help="module paths as in the config (default: all)")
    parser.add_argument("--config", type=Path, default=CONFIG)
    parser.add_argument("--equivalents", type=Path, default=EQUIVALENTS)
    parser.add_argument("--workers", type=int, default=1, help="mutants run at once (default 1)")
    parser.add_argument("--list", action="store_true", help="print the mutants and run nothing")
    parser.add_argument(
        "--only", action="append", help="run only the mutants whose key contains this text (repeatable)"
    )
    parser.add_argument(
        "--shard", help="I/N: run every N-th mutant from the I-th (0-based), to split a module between runs"
    )
    parser.add_argument("--results", type=Path, help="append each mutant's outcome to this file as it ends")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve()
        return 0
    configs = load_config(args.config)
    if args.modules:
        wanted = {str(Path(m)) for m in args.modules}
        unknown = wanted - {c.path for c in configs}
        if unknown:
            parser.error(f"not in {args.config.name}: {', '.join(sorted(unknown))}")
        configs = [c for c in configs if c.path in wanted]
    equivalents = load_equivalents(args.equivalents)
    if args.list:
        for c in configs:
            ms = mutants_of(ROOT / c.path)
            print(f"== {c.path}: {len(ms)} mutants")
            for m in ms:
                eq = "  [equivalent]" if (c.path, m.key) in equivalents else ""
                print(f"   line {m.line}: {m.key}{eq}")
        return 0
    table: list[tuple[str, int, int, int]] = []
    for c in configs:
        shard = tuple(int(x) for x in args.shard.split("/")) if args.shard else None
        killed, total, n_eq = run_module(
            c,
            equivalents,
            args.workers,
            args.only,
            shard,
            args.results,  # type: ignore[arg-type]
        )
        table.append((c.path, killed, total, n_eq))
    print("\n| module | killed | equivalent | survived | score (equivalents excepted) |")
    print("|---|---|---|---|---|")
    worst = 100.0
    for path, killed, total, n_eq in table:
        scored = total - n_eq
        pct = 100.0 * killed / scored if scored else 100.0
        worst = min(worst, pct)
        survived = total - killed - n_eq
        print(f"| {path} | killed {killed} of {total} | {n_eq} | {survived} | {pct:.1f} % |")
    return 0 if worst >= 90.0 else 1


if __name__ == "__main__":
    sys.exit(main())
