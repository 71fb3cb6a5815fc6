"""Every audit action code written anywhere in app/, found by reading the source.

A call `audit.record(..., action=…)` names its code as a literal, a choice of literals
(`"a" if … else "b"`), or an f-string with a literal prefix around a helper's parameter
(`f"meetings.{action}"`); a parameter is followed to every call of its function in the same
module, and a local name to what it is assigned. Anything else is reported as unresolved, so
a new way of writing a code cannot slip past the wording test unread.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path

APP = Path(__file__).resolve().parents[1] / "app"


@dataclass
class Found:
    codes: dict[str, list[str]] = field(default_factory=dict)  # code → where ("path:line")
    unresolved: list[str] = field(default_factory=list)


class _Module:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        self.parent: dict[ast.AST, ast.AST] = {}
        for node in ast.walk(self.tree):
            for child in ast.iter_child_nodes(node):
                self.parent[child] = node

    def where(self, node: ast.AST) -> str:
        return f"{self.path.relative_to(APP.parent)}:{getattr(node, 'lineno', 0)}"

    def function_of(self, node: ast.AST) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
        while node in self.parent:
            node = self.parent[node]
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                return node
        return None

    def calls_of(self, name: str) -> list[ast.Call]:
        return [
            n
            for n in ast.walk(self.tree)
            if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == name
        ]


def _bound(
    fn: ast.FunctionDef | ast.AsyncFunctionDef, call: ast.Call, param: str
) -> ast.expr | None:
    positional = [a.arg for a in fn.args.posonlyargs + fn.args.args]
    for kw in call.keywords:
        if kw.arg == param:
            return kw.value
    if param in positional:
        index = positional.index(param)
        if index < len(call.args) and not any(isinstance(a, ast.Starred) for a in call.args):
            return call.args[index]
        defaults = fn.args.defaults
        offset = len(positional) - len(defaults)
        if index >= offset:
            return defaults[index - offset]
    kwonly = [a.arg for a in fn.args.kwonlyargs]
    if param in kwonly:
        default = fn.args.kw_defaults[kwonly.index(param)]
        if default is not None:
            return default
    return None


def _values(mod: _Module, expr: ast.expr, depth: int = 0) -> set[str] | None:
    """The strings `expr` can be, or None when they cannot be read from the source."""
    if depth > 8:
        return None
    if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
        return {expr.value}
    if isinstance(expr, ast.IfExp):
        a, b = _values(mod, expr.body, depth + 1), _values(mod, expr.orelse, depth + 1)
        return None if a is None or b is None else a | b
    if isinstance(expr, ast.JoinedStr):
        results = {""}
        for part in expr.values:
            if isinstance(part, ast.Constant) and isinstance(part.value, str):
                options: set[str] | None = {part.value}
            elif isinstance(part, ast.FormattedValue) and part.format_spec is None:
                options = _values(mod, part.value, depth + 1)
            else:
                options = None
            if options is None:
                return None
            results = {r + o for r in results for o in options}
        return results
    if isinstance(expr, ast.Name):
        fn = mod.function_of(expr)
        if fn is None:
            return None
        params = {a.arg for a in fn.args.posonlyargs + fn.args.args + fn.args.kwonlyargs}
        if expr.id in params:
            calls = mod.calls_of(fn.name)
            if not calls:
                return None
            out: set[str] = set()
            for call in calls:
                bound = _bound(fn, call, expr.id)
                got = None if bound is None else _values(mod, bound, depth + 1)
                if got is None:
                    return None
                out |= got
            return out
        assigned = [
            n.value
            for n in ast.walk(fn)
            if isinstance(n, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == expr.id for t in n.targets)
        ]
        if not assigned:
            return None
        out = set()
        for value in assigned:
            got = _values(mod, value, depth + 1)
            if got is None:
                return None
            out |= got
        return out
    return None


def _is_record(call: ast.Call) -> bool:
    f = call.func
    return (
        isinstance(f, ast.Attribute)
        and f.attr == "record"
        and isinstance(f.value, ast.Name)
        and f.value.id in {"audit", "audit_service"}
    )


def written_codes() -> Found:
    """Every `audit.record(...)` call under app/ (outside app/audit itself) and its codes."""
    found = Found()
    for path in sorted(APP.rglob("*.py")):
        if path.parent.name == "audit":
            continue
        mod = _Module(path)
        for call in ast.walk(mod.tree):
            if not isinstance(call, ast.Call) or not _is_record(call):
                continue
            action = next((kw.value for kw in call.keywords if kw.arg == "action"), None)
            values = None if action is None else _values(mod, action)
            if values is None:
                found.unresolved.append(mod.where(call))
                continue
            for code in values:
                found.codes.setdefault(code, []).append(mod.where(call))
    return found
