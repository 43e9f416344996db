"""Every place the code builds a problem, read from the source (for the language tests).

A *site* is a call of a ``ProblemError`` class (``raise NotFound(f"case {case_id} not found")``,
or a problem built to be raised later). Its first argument becomes a *template*: literal text
kept, every interpolated value (f-string field, concatenated expression) numbered ``{0}``,
``{1}``, … in order — the form the detail catalogue (backend/core/details.py) is keyed by. A
detail passed as a plain variable has no template; ``sites`` lists it with ``template=None``.
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
from dataclasses import dataclass
from pathlib import Path

from backend.core.errors import ProblemError

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("backend", "certificates", "evidence", "mobile_api")


@dataclass(frozen=True)
class Site:
    where: str
    problem: str
    template: str | None


def problem_classes() -> set[str]:
    """Names of every ProblemError class, once every module of the product is imported."""
    for name in PACKAGES:
        package = importlib.import_module(name)
        for module in pkgutil.walk_packages(package.__path__, name + "."):
            if ".migrations" not in module.name and not module.name.endswith("verify_export"):
                importlib.import_module(module.name)
    found: set[str] = set()
    pending: list[type[ProblemError]] = [ProblemError]
    while pending:
        cls = pending.pop()
        found.add(cls.__name__)
        pending.extend(cls.__subclasses__())
    return found


def _template(node: ast.expr, counter: list[int]) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        parts: list[str] = []
        for value in node.values:
            if isinstance(value, ast.Constant):
                parts.append(str(value.value))
            else:
                parts.append(f"{{{counter[0]}}}")
                counter[0] += 1
        return "".join(parts)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _template(node.left, counter), None
        if left is None:
            left = f"{{{counter[0]}}}"
            counter[0] += 1
        right = _template(node.right, counter)
        if right is None:
            right = f"{{{counter[0]}}}"
            counter[0] += 1
        return left + right
    return None


def _detail_argument(node: ast.Call, names: set[str]) -> tuple[str, ast.expr] | None:
    """(problem class, detail expression) when ``node`` builds a problem's detail."""
    func = node.func
    name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
    if name in names:
        detail = node.args[0] if node.args else next((k.value for k in node.keywords if k.arg == "detail"), None)
        return (name, detail) if detail is not None else None
    if name == "unique_as" and node.args:  # backend.core.db: a unique violation as DuplicateValue
        return "DuplicateValue", node.args[0]
    if name == "of" and len(node.args) >= 2 and isinstance(node.args[0], ast.Name) and node.args[0].id in names:
        return node.args[0].id, node.args[1]  # one condition of a 409 listing everything missing
    return None


def _assigned(tree: ast.AST) -> dict[int, dict[str, list[ast.expr]]]:
    """Per function (by id of its node): the expressions assigned to each local name."""
    found: dict[int, dict[str, list[ast.expr]]] = {}
    for function in ast.walk(tree):
        if isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            local: dict[str, list[ast.expr]] = {}
            for node in ast.walk(function):
                if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                    local.setdefault(node.targets[0].id, []).append(node.value)
            found[id(function)] = local
    return found


def sites() -> list[Site]:
    names = problem_classes()
    found: list[Site] = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" in path.parts or path.name == "verify_export.py":
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"))
            assigned = _assigned(tree)
            functions = [f for f in ast.walk(tree) if isinstance(f, ast.FunctionDef | ast.AsyncFunctionDef)]
            for function in functions or []:
                for node in ast.walk(function):
                    where = f"{path.relative_to(ROOT)}:{getattr(node, 'lineno', 0)}"
                    if isinstance(node, ast.Dict):  # a condition item: {"code": …, "detail": "…"}
                        for key, value in zip(node.keys, node.values, strict=True):
                            if isinstance(key, ast.Constant) and key.value == "detail":
                                found.append(Site(where, "condition", _template(value, [0])))
                        continue
                    if not isinstance(node, ast.Call) or (built := _detail_argument(node, names)) is None:
                        continue
                    problem, detail = built
                    expressions = [detail]
                    if isinstance(detail, ast.Name):  # a detail put together first in a local variable
                        expressions = assigned[id(function)].get(detail.id, [detail])
                    found.extend(Site(where, problem, _template(expression, [0])) for expression in expressions)
    return sorted(set(found), key=lambda site: site.where)
