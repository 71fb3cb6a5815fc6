"""Exactly one function changes an issue's stage: `_advance_stage` in app/issues/service.py.

The check parses every module under app/ with `ast` and reports each write to a `stage`:
- an assignment whose target is an attribute named `stage` (`x.stage = …`, `x.stage += …`,
  `x.stage: Stage = …`, tuple targets too), or `setattr(x, "stage", …)`;
- a bulk write: `.values(stage=…)`, `.values({"stage": …})`, or a `{"stage": …}` dict passed
  to `execute` (executemany-style `update(Issue)`);
- raw SQL text that updates the issue's stage;
- `Issue(stage=…)` or `Issue(**…)`: only `_create_issue` builds an issue with its first stage.
Self-tests on small sources show that the check does catch each of these.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parents[2] / "app"
SERVICE = APP / "issues" / "service.py"
ALLOWED_ASSIGNER = ("issues/service.py", "_advance_stage")
ALLOWED_CONSTRUCTOR = ("issues/service.py", "_create_issue")
INITIAL_STAGES = {"COLLECTING", "UNDER_REVIEW"}
_RAW_SQL = re.compile(r"\bupdate\s+\"?issue\"?\s+set\b[^;]*\bstage\b", re.IGNORECASE | re.DOTALL)


@dataclass(frozen=True)
class Write:
    path: str
    function: str
    line: int
    kind: str


def _is_stage_key(node: ast.expr | None) -> bool:
    return isinstance(node, ast.Constant) and node.value == "stage"


def _dict_has_stage(node: ast.AST) -> bool:
    return isinstance(node, ast.Dict) and any(_is_stage_key(k) for k in node.keys)


def _is_update(args: list[ast.expr]) -> bool:
    """`update(...)` (or `sa.update(...)`) as the statement of an execute call."""
    if not args or not isinstance(args[0], ast.Call):
        return False
    func = args[0].func
    return (func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")) == "update"


def _targets(node: ast.AST) -> list[ast.expr]:
    if isinstance(node, ast.Assign):
        return list(node.targets)
    if isinstance(node, (ast.AugAssign, ast.AnnAssign)):
        return [node.target]
    return []


def _flatten(target: ast.expr) -> list[ast.expr]:
    if isinstance(target, (ast.Tuple, ast.List)):
        return [t for element in target.elts for t in _flatten(element)]
    if isinstance(target, ast.Starred):
        return _flatten(target.value)
    return [target]


class _Finder(ast.NodeVisitor):
    def __init__(self, path: str) -> None:
        self.path = path
        self.stack: list[str] = []
        self.writes: list[Write] = []

    def _add(self, node: ast.AST, kind: str) -> None:
        function = self.stack[-1] if self.stack else "<module>"
        self.writes.append(Write(self.path, function, getattr(node, "lineno", 0), kind))

    def _scoped(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> None:
        self.stack.append(node.name)
        self.generic_visit(node)
        self.stack.pop()

    visit_FunctionDef = _scoped
    visit_AsyncFunctionDef = _scoped
    visit_ClassDef = _scoped

    def generic_visit(self, node: ast.AST) -> None:
        for target in _targets(node):
            for t in _flatten(target):
                if isinstance(t, ast.Attribute) and t.attr == "stage":
                    self._add(node, "assign")
        super().generic_visit(node)

    def visit_Constant(self, node: ast.Constant) -> None:
        if isinstance(node.value, str) and _RAW_SQL.search(node.value):
            self._add(node, "raw_sql")

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        if name == "setattr" and len(node.args) >= 2 and _is_stage_key(node.args[1]):
            self._add(node, "setattr")
        if name == "values" and (
            any(k.arg == "stage" for k in node.keywords) or any(map(_dict_has_stage, node.args))
        ):
            self._add(node, "values")
        if (
            name in {"execute", "exec"}
            and _is_update(node.args[:1])
            and any(
                _dict_has_stage(a)
                or (isinstance(a, ast.List) and any(map(_dict_has_stage, a.elts)))
                for a in node.args[1:]
            )
        ):
            self._add(node, "execute")
        if name == "Issue" and any(k.arg in {"stage", None} for k in node.keywords):
            self._add(node, "constructor")
        self.generic_visit(node)


def find_stage_writes(source: str, path: str) -> list[Write]:
    finder = _Finder(path)
    finder.visit(ast.parse(source, filename=path))
    return finder.writes


def _app_writes() -> list[Write]:
    writes: list[Write] = []
    for file in sorted(APP.rglob("*.py")):
        rel = file.relative_to(APP).as_posix()
        writes.extend(find_stage_writes(file.read_text(encoding="utf-8"), rel))
    return writes


# ---------------------------------------------------------------------------------------------
# The rule, over the real code


def test_only_advance_stage_assigns_an_issue_stage() -> None:
    writes = _app_writes()
    assigns = [w for w in writes if w.kind != "constructor"]
    offenders = [w for w in assigns if (w.path, w.function) != ALLOWED_ASSIGNER]
    assert offenders == [], "only issues.service._advance_stage may change an issue's stage"
    # and the one allowed writer is really there (the check is not looking at nothing)
    assert [(w.path, w.function, w.kind) for w in assigns] == [(*ALLOWED_ASSIGNER, "assign")]


def test_only_create_issue_builds_an_issue_with_a_stage() -> None:
    constructors = [w for w in _app_writes() if w.kind == "constructor"]
    assert [(w.path, w.function) for w in constructors] == [ALLOWED_CONSTRUCTOR]


def test_create_issue_sets_the_initial_stage_only_through_the_constructor() -> None:
    tree = ast.parse(SERVICE.read_text(encoding="utf-8"))
    functions = {n.name: n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
    create = functions["_create_issue"]
    issue_calls = [
        n
        for n in ast.walk(create)
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "Issue"
    ]
    assert len(issue_calls) == 1
    stage_kw = [k for k in issue_calls[0].keywords if k.arg == "stage"]
    assert len(stage_kw) == 1
    assert isinstance(stage_kw[0].value, ast.Name)
    assert stage_kw[0].value.id == "stage"  # the parameter, passed straight through
    # and every caller passes an initial stage: 征集中 (proposed) or 待审核 (entered by the chair)
    callers = [
        (fn.name, k.value)
        for fn in functions.values()
        for n in ast.walk(fn)
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "_create_issue"
        for k in n.keywords
        if k.arg == "stage"
    ]
    stages = {
        name: value.attr
        for name, value in callers
        if isinstance(value, ast.Attribute)
        and isinstance(value.value, ast.Name)
        and value.value.id == "Stage"
    }
    assert stages == {"propose_issue": "COLLECTING", "enter_issue_on_behalf": "UNDER_REVIEW"}
    assert len(callers) == len(stages)
    assert set(stages.values()) <= INITIAL_STAGES


def test_advance_stage_checks_the_transition_and_audits() -> None:
    tree = ast.parse(SERVICE.read_text(encoding="utf-8"))
    advance = next(
        n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == "_advance_stage"
    )
    source = ast.unparse(advance)
    assert "lifecycle.check_transition(" in source
    assert "'issues.advance_issue_stage'" in source
    assert "StageEvent(" in source
    assert source.index("check_transition") < source.index("issue.stage = target")


# ---------------------------------------------------------------------------------------------
# The check catches what it should (so the tests above can fail)


@pytest.mark.parametrize(
    ("source", "kind"),
    [
        ("def f(issue):\n    issue.stage = Stage.CLOSED\n", "assign"),
        ("def f(issue):\n    issue.stage: Stage = Stage.CLOSED\n", "assign"),
        ("def f(issue):\n    issue.stage += 'x'\n", "assign"),
        ("def f(a, b):\n    a.stage, b.x = 1, 2\n", "assign"),
        ("def f(a):\n    a.x = a.stage = 1\n", "assign"),
        ("def f(issue):\n    setattr(issue, 'stage', Stage.CLOSED)\n", "setattr"),
        ("def f(s):\n    s.exec(update(Issue).values(stage=Stage.CLOSED))\n", "values"),
        ("def f(s):\n    s.exec(update(Issue).values({'stage': 'closed'}))\n", "values"),
        ("def f(s):\n    s.execute(update(Issue), [{'id': 1, 'stage': 'closed'}])\n", "execute"),
        ("def f(s):\n    s.execute(text(\"UPDATE issue SET stage = 'closed'\"))\n", "raw_sql"),
        ("def f():\n    return Issue(title='t', stage=Stage.CLOSED)\n", "constructor"),
        ("def f(values):\n    return Issue(**values)\n", "constructor"),
    ],
)
def test_the_check_catches_each_kind_of_write(source: str, kind: str) -> None:
    writes = find_stage_writes(source, "elsewhere.py")
    assert [(w.function, w.kind) for w in writes] == [("f", kind)]


def test_the_check_ignores_reads_and_other_names() -> None:
    source = (
        "def f(issue, s):\n"
        "    if issue.stage == Stage.CLOSED:\n"
        "        x = issue.stage\n"
        "    issue.stage_changed_at = now\n"
        "    event = StageEvent(from_stage=issue.stage, to_stage=target)\n"
        "    s.exec(select(Issue).where(Issue.stage == 'closed'))\n"
        "    s.execute(text('SELECT id FROM issue WHERE stage = :stage'), {'stage': 'closed'})\n"
        "    return {'stage': issue.stage}\n"
    )
    assert find_stage_writes(source, "elsewhere.py") == []
