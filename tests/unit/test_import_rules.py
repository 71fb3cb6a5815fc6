"""What the import contracts (pyproject.toml, `lint-imports`) cannot say: import-linter sees
modules, not names, so a private name (`_require`) imported from another module is checked here.

A private name is shared only between the modules of one package (the use cases of
app/voting/service/ share their helpers), and an entry point (routes, api) imports none: it
calls services, queries and policies, whose public names say what they are for.
"""

from __future__ import annotations

import ast
from pathlib import Path

APP = Path(__file__).resolve().parents[2] / "app"


def _module(path: Path) -> str:
    parts = path.relative_to(APP.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _private_imports() -> list[tuple[str, str, str]]:
    found = []
    for path in sorted(APP.rglob("*.py")):
        importer = _module(path)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.ImportFrom) or not (node.module or "").startswith("app"):
                continue
            for alias in node.names:
                name = alias.name
                if name.startswith("_") and name != "_" and not name.startswith("__"):
                    found.append((importer, node.module or "", name))
    return found


def _is_entry_point(module: str) -> bool:
    last = module.rsplit(".", 1)[-1]
    return last in {"routes", "api"} or last.endswith("_routes")


def test_private_names_stay_inside_their_package_and_out_of_entry_points() -> None:
    wrong = [
        f"{importer} imports {name} from {source}"
        for importer, source, name in _private_imports()
        if importer.rsplit(".", 1)[0] != source.rsplit(".", 1)[0] or _is_entry_point(importer)
    ]
    assert not wrong, "\n".join(wrong)


def test_the_check_sees_the_shared_helpers_of_the_voting_use_cases() -> None:
    # The voting use cases do share private helpers: the walk above must find them.
    assert ("app.voting.service.casting", "app.voting.service._common", "_append") in (
        _private_imports()
    )
