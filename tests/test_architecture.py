"""The seams of docs/architecture.md, enforced on the source tree.

* only ``warehouse/`` touches the engine: no other module imports ``duckdb``, reads an
  adapter's raw connection (``.con`` / ``._con``), writes BEGIN/COMMIT/ROLLBACK or
  declares warehouse tables (``CREATE TABLE`` / ``ALTER TABLE``; temporary tables aside);
* domain packages import neither ``segflow.cli`` nor ``segflow.workspace`` (the façade
  and the command line sit on top of them, never below);
* no error message outside ``cli/`` names a command-line flag (``--columns``): the same
  error reaches the Python API, and the CLI adds its flags as hints (``segflow.cli.errors``).

``generate/`` is the one exception to the first rule: it computes the synthetic shop in
an in-memory DuckDB of its own and writes files; it never opens a project's warehouse.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "segflow"
#: Packages and modules above the domain: they may import anything.
TOP = {"cli", "workspace.py", "__init__.py", "api", "__main__.py"}
#: Allowed to use DuckDB directly (see the module docstring).
ENGINE_OK = {"warehouse", "generate"}


def _modules(src: Path) -> list[Path]:
    return sorted(p for p in src.rglob("*.py") if "migrations" not in p.parts)


def _top(path: Path, src: Path) -> str:
    return path.relative_to(src).parts[0]


def _imports(tree: ast.AST) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found += [(node.lineno, node.module)] + [(node.lineno, f"{node.module}.{a.name}") for a in node.names]
    return found


def _strings(tree: ast.AST) -> list[tuple[int, str]]:
    out = []
    parts = {id(v) for node in ast.walk(tree) if isinstance(node, ast.JoinedStr) for v in node.values}
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in parts:
            out.append((node.lineno, node.value))
        elif isinstance(node, ast.JoinedStr):
            text = "".join(v.value if isinstance(v, ast.Constant) and isinstance(v.value, str) else "{}"
                           for v in node.values)
            out.append((node.lineno, text))
    return out


_DOCSTRING_NODES = (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def _docstrings(tree: ast.AST) -> set[int]:
    lines = set()
    for node in ast.walk(tree):
        if isinstance(node, _DOCSTRING_NODES) and node.body and isinstance(node.body[0], ast.Expr) \
                and isinstance(node.body[0].value, ast.Constant):
            lines.add(node.body[0].value.lineno)
    return lines


_TXN = re.compile(r"^\s*(BEGIN( TRANSACTION)?|COMMIT|ROLLBACK)\s*;?\s*$", re.IGNORECASE)
_DDL = re.compile(r"\b(CREATE\s+(OR\s+REPLACE\s+)?TABLE|ALTER\s+TABLE)\b", re.IGNORECASE)


def engine_violations(src: Path = SRC) -> list[str]:
    problems = []
    for path in _modules(src):
        if _top(path, src) in ENGINE_OK:
            continue
        rel = path.relative_to(src)
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for line, name in _imports(tree):
            if name == "duckdb" or name.startswith("duckdb."):
                problems.append(f"{rel}:{line}: imports duckdb")
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr in ("con", "_con"):
                problems.append(f"{rel}:{node.lineno}: reads the raw connection (.{node.attr})")
        docs = _docstrings(tree)
        for line, text in _strings(tree):
            if line in docs:
                continue
            if _TXN.match(text):
                problems.append(f"{rel}:{line}: writes {text.strip()!r} (use Warehouse.transaction())")
            elif _DDL.search(text):
                problems.append(f"{rel}:{line}: declares a table ({_DDL.search(text).group(0)!r}; "  # type: ignore[union-attr]
                                "tables live in warehouse/tables.py)")
    return list(dict.fromkeys(problems))


def layering_violations(src: Path = SRC) -> list[str]:
    problems = []
    for path in _modules(src):
        if _top(path, src) in TOP:
            continue
        rel = path.relative_to(src)
        for line, name in _imports(ast.parse(path.read_text(encoding="utf-8"))):
            if name == "segflow.workspace" or name.startswith(("segflow.workspace.", "segflow.cli")):
                problems.append(f"{rel}:{line}: imports {name.split('.')[0]}.{name.split('.')[1]}")
    return list(dict.fromkeys(problems))


#: A command-line flag in a message: ``--columns``, ``--by``, ``--file-format``.
_FLAG = re.compile(r"--[a-z]")


def _callee(call: ast.Call) -> str:
    func = call.func
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""


def _error_calls(tree: ast.AST) -> list[ast.Call]:
    """Calls that make an error: every raised call (``raise QueryError(...)``, ``raise _fail(...)``)
    and every call of a class named ``...Error`` (``return SchemaError(...)``)."""
    raised = {id(n.exc) for n in ast.walk(tree) if isinstance(n, ast.Raise) and isinstance(n.exc, ast.Call)}
    return [n for n in ast.walk(tree)
            if isinstance(n, ast.Call) and (id(n) in raised or _callee(n).endswith("Error"))]


def flag_violations(src: Path = SRC) -> list[str]:
    problems = []
    for path in _modules(src):
        if _top(path, src) == "cli":
            continue
        rel = path.relative_to(src)
        for call in _error_calls(ast.parse(path.read_text(encoding="utf-8"))):
            for arg in [*call.args, *(k.value for k in call.keywords)]:
                for line, text in _strings(arg):
                    found = _FLAG.search(text)
                    if found:
                        flag = re.match(r"--[\w-]+", text[found.start():]).group(0)  # type: ignore[union-attr]
                        problems.append(f"{rel}:{line}: {_callee(call)}(...) names the flag {flag} "
                                        "(name the thing; the CLI adds the flag as a hint in cli/errors.py)")
    return list(dict.fromkeys(problems))


def test_only_the_warehouse_adapter_touches_the_engine() -> None:
    assert engine_violations() == []


def test_domain_packages_import_neither_cli_nor_workspace() -> None:
    assert layering_violations() == []


def test_no_error_message_outside_the_cli_names_a_flag() -> None:
    assert flag_violations() == []


@pytest.mark.parametrize("source, rule", [
    ("import duckdb\n", engine_violations),
    ("def f(wh):\n    return wh.con.execute('SELECT 1')\n", engine_violations),
    ("def f(wh):\n    wh.execute('COMMIT')\n", engine_violations),
    ("def f(wh):\n    wh.execute(f'ALTER TABLE {t} ADD COLUMN x INT')\n", engine_violations),
    ("from segflow.workspace import Workspace\n", layering_violations),
    ("from segflow.cli.output import to_json\n", layering_violations),
    ("def f(c):\n    raise QueryError(f'--columns: no column {c!r}', code='unknown_column')\n", flag_violations),
    ("def f():\n    return SchemaError('use ' + '--by TYPE VALUE')\n", flag_violations),
    ("def f(m):\n    raise _fail(m or 'pass --file-format csv')\n", flag_violations),
], ids=["duckdb", "raw-connection", "commit", "ddl", "workspace", "cli", "flag-raised", "flag-built", "flag-helper"])
def test_the_checks_catch_a_violation(tmp_path: Path, source: str, rule: Callable[[Path], list[str]]) -> None:
    pkg = tmp_path / "segflow" / "segments"
    pkg.mkdir(parents=True)
    (pkg / "bad.py").write_text(source, encoding="utf-8")
    assert len(rule(tmp_path / "segflow")) == 1


def test_the_flag_check_spares_docstrings_comments_and_the_cli(tmp_path: Path) -> None:
    pkg = tmp_path / "segflow"
    (pkg / "segments").mkdir(parents=True)
    (pkg / "cli").mkdir()
    (pkg / "segments" / "ok.py").write_text(
        '"""Run ``segflow segment members --columns email``."""\n\n'
        "def f(c):\n"
        '    """What ``--columns`` asks for."""\n'
        "    # the CLI's --columns\n"
        "    shown = '--columns'\n"
        "    raise QueryError(f'profiles has no column {c!r}', code='unknown_column')\n", encoding="utf-8")
    (pkg / "cli" / "ok.py").write_text("def f():\n    raise SegflowError('--to needs --format csv')\n",
                                       encoding="utf-8")
    assert flag_violations(pkg) == []
