"""Routes parse, call one service, respond (issue #11): a route handler's body is at most 15
lines (its docstring not counted). A longer one needs a reason, written here.

A handler is a function decorated with `<router>.get/post/put/patch/delete(...)` in
app/**/*routes*.py, app/**/routes/*.py and app/**/api.py.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "app"
MAX_LINES = 15
METHODS = frozenset({"get", "post", "put", "patch", "delete"})

# "file:function" → why it may be longer. Keep this short.
ALLOWED = {}


def route_modules() -> list[Path]:
    return sorted(
        p
        for p in APP.rglob("*.py")
        if "routes" in p.stem or p.parent.name == "routes" or p.name == "api.py"
    )


def handler_lengths(path: Path) -> dict[str, int]:
    lengths = {}
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        if not any(
            isinstance(d, ast.Call) and isinstance(d.func, ast.Attribute) and d.func.attr in METHODS
            for d in node.decorator_list
        ):
            continue
        body = node.body
        first = body[0]
        if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
            body = body[1:]  # the docstring
        lines = (body[-1].end_lineno or 0) - body[0].lineno + 1 if body else 0
        lengths[f"{path.relative_to(ROOT)}:{node.name}"] = lines
    return lengths


def test_route_handlers_are_short() -> None:
    lengths = {k: v for p in route_modules() for k, v in handler_lengths(p).items()}
    assert len(lengths) > 100  # every domain's pages and API are read
    long = {k: v for k, v in lengths.items() if v > MAX_LINES and k not in ALLOWED}
    assert not long, (
        f"route handlers longer than {MAX_LINES} lines (move the work into the service, a form "
        f"model, app/web/actions or a helper, or give the reason in ALLOWED): {long}"
    )
    stale = set(ALLOWED) - {k for k, v in lengths.items() if v > MAX_LINES}
    assert not stale, f"ALLOWED lists handlers that are short now (or gone): {sorted(stale)}"
