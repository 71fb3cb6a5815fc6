"""URLs come from route names (issue #11): no route module, no web module and no template
spells a page's path by hand. Python calls `app.web.links.url(name, **params)`, templates call
`url(name, **params)`; a route's own path is written once, in its decorator.

A path is "hand-built" when a string literal (an f-string's text included) or a template
starts a page path: /halls/…, /join/…, /notifications, /account/…, /login, /register, /logout,
/prefs/…, or a link attribute (href, action, src, hx-get, hx-post, sse-connect) begins with "/".
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "app"
PAGE_PATH = re.compile(
    r"^/(halls/|join/|notifications\b|account/|login\b|register\b|logout\b|prefs/)"
)

# file (relative to app/) → (the string, why it is not a link). Keep this short.
ALLOWED: dict[str, dict[str, str]] = {
    "web/deps.py": {
        "/account/password": "paths the password-change gate lets through, compared with "
        "request.url.path (not links)",
        "/prefs/locale": "the same gate's list",
        "/prefs/elder": "the same gate's list",
        "/logout": "the same gate's list",
    },
}


def _shown(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else path.name


def _route_paths(tree: ast.AST) -> set[int]:
    """Nodes that are a route's own path: decorator arguments, an APIRouter's prefix."""
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for decorator in node.decorator_list:
                skip.update(id(n) for n in ast.walk(decorator))
        if isinstance(node, ast.keyword) and node.arg == "prefix":
            skip.update(id(n) for n in ast.walk(node.value))
    return skip


def _docstrings(tree: ast.AST) -> set[int]:
    found: set[int] = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr):
            found.add(id(body[0].value))
    return found


def hand_built_in_python(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = _route_paths(tree) | _docstrings(tree)
    allowed = ALLOWED.get(str(path.relative_to(APP)), {}) if path.is_relative_to(APP) else {}
    found = []
    for node in ast.walk(tree):
        if id(node) in skip or not isinstance(node, ast.Constant):
            continue
        value = node.value
        if isinstance(value, str) and PAGE_PATH.match(value) and value not in allowed:
            found.append(f"{_shown(path)}:{node.lineno}: {value!r}")
    return found


LINK_ATTR = re.compile(r'\b(?:href|action|src|hx-get|hx-post|hx-put|hx-delete|sse-connect)="/')
QUOTED_PATH = re.compile(
    r"""["'](/(?:halls/|join/|notifications\b|account/|login\b|register\b|logout\b|prefs/)[^"']*)"""
)
JINJA_COMMENT = re.compile(r"\{#.*?#\}", re.S)


def hand_built_in_template(path: Path) -> list[str]:
    text = JINJA_COMMENT.sub("", path.read_text(encoding="utf-8"))
    found = []
    for number, line in enumerate(text.splitlines(), 1):
        if LINK_ATTR.search(line) or QUOTED_PATH.search(line) or "/halls/" in line:
            found.append(f"{_shown(path)}:{number}: {line.strip()[:120]}")
    return found


def test_no_route_or_web_module_builds_a_page_url_by_hand() -> None:
    modules = [
        p
        for p in APP.rglob("*.py")
        if "routes" in p.parts or "routes" in p.stem or p.stem == "api" or "web" in p.parts
    ]
    assert len(modules) > 10
    found = [line for p in sorted(modules) for line in hand_built_in_python(p)]
    assert not found, "build these with app.web.links.url(name, **params):\n" + "\n".join(found)


def test_no_template_builds_a_page_url_by_hand() -> None:
    templates = sorted((APP / "templates").rglob("*.html"))
    assert templates
    found = [line for p in templates for line in hand_built_in_template(p)]
    assert not found, 'use {{ url("route.name", param=...) }}:\n' + "\n".join(found)


def test_the_guard_sees_a_hand_built_url(tmp_path: Path) -> None:
    template = tmp_path / "t.html"
    template.write_text('<a href="/halls/{{ hall.id }}/issues">x</a>\n{# /halls/ in a comment #}')
    assert len(hand_built_in_template(template)) == 1
    module = tmp_path / "routes.py"
    module.write_text(
        '"""Docs may say /halls/1."""\n'
        "@router.get('/halls/{hall_id}')\n"
        "def page(hall_id: int) -> str:\n"
        "    return f'/halls/{hall_id}/issues'\n"
    )
    assert len(hand_built_in_python(module)) == 1
