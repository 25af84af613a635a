"""The condition language of rules/: parse, expand and describe (evaluated by decision_aid.knowledge.reading).

A condition is parsed with Python's `ast` against a whitelist and never executed.
There is no `not` and no `!=`, so a comparison only ever matches a known value and
an unknown must be written out (`stenosis is unknown`).
"""

from __future__ import annotations

import ast
import itertools
import re
from dataclasses import dataclass
from typing import Any

_AST_OPS = {ast.Eq: "==", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">="}


class ConditionSyntaxError(ValueError):
    """A condition that is not in the whitelisted language."""


@dataclass(frozen=True)
class Compare:
    field: str
    op: str
    value: Any


@dataclass(frozen=True)
class OneOf:
    field: str
    values: tuple[Any, ...]


@dataclass(frozen=True)
class Known:
    """`field is known` (known=True) or `field is unknown` (known=False)."""

    field: str
    known: bool


@dataclass(frozen=True)
class State:
    """`name is present|absent|unknown`, for a finding or a tag."""

    name: str
    state: str


@dataclass(frozen=True)
class Always:
    pass


Atom = Compare | OneOf | Known | State | Always


@dataclass(frozen=True)
class All:
    parts: tuple[Expr, ...]


@dataclass(frozen=True)
class Any_:
    parts: tuple[Expr, ...]


Expr = Atom | All | Any_
Conjunct = tuple[Atom, ...]


# ---- parsing ----------------------------------------------------------------

_IS_STATE = re.compile(r"\b([A-Za-z_][A-Za-z0-9_]*)\s+is\s+(present|absent|unknown|known)\b")


def parse(text: str) -> Expr:
    """Parse a condition; raise ConditionSyntaxError with a readable reason."""
    source = text.strip()
    if source == "always":
        return Always()
    # `x is present` is not Python; rewrite it to a call the whitelist accepts.
    rewritten = _IS_STATE.sub(lambda m: f"__is__({m.group(1)}, '{m.group(2)}')", source)
    try:
        tree = ast.parse(rewritten, mode="eval")
    except SyntaxError as error:
        raise ConditionSyntaxError(f"cannot parse condition {source!r}: {error.msg}") from None
    return _expr(tree.body, source)


def _expr(node: ast.AST, source: str) -> Expr:
    if isinstance(node, ast.BoolOp):
        parts = tuple(_expr(v, source) for v in node.values)
        return All(parts) if isinstance(node.op, ast.And) else Any_(parts)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "__is__":
        name, word = node.args[0].id, node.args[1].value
        if word in ("known", "unknown") and _looks_like_field(name):
            return Known(name, word == "known")
        return State(name, word)
    if isinstance(node, ast.Compare) and len(node.ops) == 1 and isinstance(node.left, ast.Name):
        field, op, right = node.left.id, node.ops[0], node.comparators[0]
        if isinstance(op, ast.In):
            if not isinstance(right, (ast.Tuple, ast.List)) or not right.elts:
                raise ConditionSyntaxError(f"'in' needs a list of values in {source!r}")
            return OneOf(field, tuple(_literal(e, source) for e in right.elts))
        if type(op) in _AST_OPS:
            return Compare(field, _AST_OPS[type(op)], _literal(right, source))
    raise ConditionSyntaxError(
        f"not allowed in a condition: {ast.unparse(node)!r} in {source!r} "
        "(use comparisons, 'in', 'is present/absent/unknown/known', 'and', 'or')"
    )


def _looks_like_field(name: str) -> bool:
    """An input field or a setting (not a finding or tag), as the contract model names them: the
    field declarations (decision_aid.knowledge.fields) read this module, so it does not read them."""
    from decision_aid.models import SETTINGS, PatientFactors

    return name in PatientFactors.model_fields or name in SETTINGS


def _literal(node: ast.AST, source: str) -> Any:
    if isinstance(node, ast.Name) and node.id in ("true", "false", "True", "False"):
        return node.id in ("true", "True")
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        value = _literal(node.operand, source)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return -value
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float, str)):
        return node.value
    raise ConditionSyntaxError(f"not a value: {ast.unparse(node)!r} in {source!r}")


# ---- structure ----------------------------------------------------------------


def atoms(expr: Expr) -> list[Atom]:
    if isinstance(expr, (All, Any_)):
        return [a for part in expr.parts for a in atoms(part)]
    return [expr]


def dnf(expr: Expr) -> list[Conjunct]:
    """Disjunctive normal form: each conjunct becomes one engine rule."""
    if isinstance(expr, Any_):
        out = [c for part in expr.parts for c in dnf(part)]
    elif isinstance(expr, All):
        out = [tuple(a for c in combo for a in c) for combo in itertools.product(*(dnf(p) for p in expr.parts))]
    else:
        out = [(expr,)]
    unique: list[Conjunct] = []
    for conjunct in out:
        conjunct = tuple(dict.fromkeys(conjunct))
        if conjunct not in unique:
            unique.append(conjunct)
    return unique


def field_names(expr: Expr) -> set[str]:
    return {a.field for a in atoms(expr) if isinstance(a, (Compare, OneOf, Known))}


def state_names(expr: Expr) -> set[str]:
    return {a.name for a in atoms(expr) if isinstance(a, State)}


# ---- thresholds -------------------------------------------------------------------


def thresholds(expr: Expr) -> dict[str, set[Any]]:
    """Every value each field is compared with (for grids and candidate values)."""
    out: dict[str, set[Any]] = {}
    for a in atoms(expr):
        if isinstance(a, Compare):
            out.setdefault(a.field, set()).add(a.value)
        elif isinstance(a, OneOf):
            out.setdefault(a.field, set()).update(a.values)
        elif isinstance(a, Known):
            out.setdefault(a.field, set())
    return out


# ---- readable text ------------------------------------------------------------------

_OP_WORDS = {"==": "is {}", "<": "is under {}", "<=": "is {} or less", ">": "is over {}", ">=": "is {} or more"}


def describe(expr: Expr, labels: dict[str, str] | None = None, top: bool = True) -> str:
    """A condition as readable text: `slip grade is 2 or more and stenosis is moderate or severe`."""
    labels = labels or {}

    def name(n: str) -> str:
        return labels.get(n, n.replace("_", " "))

    if isinstance(expr, (All, Any_)):
        joiner = " and " if isinstance(expr, All) else " or "
        text = joiner.join(describe(p, labels, top=False) for p in expr.parts)
        return text if top else f"({text})"
    if isinstance(expr, Always):
        return "always"
    if isinstance(expr, Known):
        return f"{name(expr.field)} is {'known' if expr.known else 'not known'}"
    if isinstance(expr, State):
        return f"{name(expr.name)} is {expr.state}"
    if isinstance(expr, OneOf):
        shown = [_show(v) for v in expr.values]
        listed = ", ".join(shown[:-1]) + f" or {shown[-1]}" if len(shown) > 1 else shown[0]
        return f"{name(expr.field)} is {listed}"
    return f"{name(expr.field)} " + _OP_WORDS[expr.op].format(_show(expr.value))


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value).replace("_", " ")
