"""Every input field is declared once (rules/fields.yaml) and the declarations agree with the contract."""

import ast
from pathlib import Path

import pytest
import yaml

from decision_aid.knowledge.fields import fields, groups, load_fields
from decision_aid.knowledge.files import rules_dir
from decision_aid.models import PatientFactors
from tests.conftest import knowledge_problems

ROOT = Path(__file__).resolve().parent.parent


def edit(kb: Path, change) -> None:
    path = kb / "fields.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data["fields"])
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")


def test_every_contract_field_is_declared_once_in_form_groups():
    assert list(fields()) == list(PatientFactors.model_fields)  # the contract's order
    on_form = [name for _, names in groups() for name in names]
    assert sorted(on_form) == sorted(fields()) and len(on_form) == len(set(on_form))
    for spec in fields().values():
        assert spec.label and spec.group and spec.help and spec.patient_label


def test_a_field_without_a_declaration_is_a_problem(kb):
    edit(kb, lambda f: f.pop("bmi"))
    assert any("fields.yaml: bmi: this input field has no declaration" in p for p in knowledge_problems(kb))


def test_a_declaration_for_no_field_is_a_problem(kb):
    edit(kb, lambda f: f.update(bmj={**f["bmi"]}))
    assert any(
        "fields.yaml: bmj: declared, but the input contract has no such field" in p for p in knowledge_problems(kb)
    )


@pytest.mark.parametrize(
    ("field", "key", "value", "words"),
    [
        ("slip_type", "sample", {"lateral": 1}, "'lateral' is not an allowed value"),
        ("bmi", "plausible", [5, 60], "outside the contract's range"),
        ("age", "decimals", 1, "only a number field"),
        ("stenosis", "unit", "mm", "only a number field has a unit"),
        ("bmi", "patient_can_change", {"direction": "sideways"}, "patient_can_change.direction"),
        ("bmi", "colour", "blue", "colour"),
    ],
)
def test_a_declaration_the_contract_does_not_allow_is_named(kb, field, key, value, words):
    edit(kb, lambda f: f[field].update({key: value}))
    found = knowledge_problems(kb)
    assert any(f"fields.yaml: {field}:" in p and words in p for p in found), found


def test_the_bundled_declarations_load():
    assert load_fields(rules_dir()).keys() == fields().keys()


def _named_fields(path: Path) -> set[str]:
    """Field names used as identifiers or string literals (docstrings and comments do not count)."""
    names = set(PatientFactors.model_fields)
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            found.add(node.id)
        elif isinstance(node, ast.Attribute):
            found.add(node.attr)
        elif isinstance(node, (ast.arg, ast.keyword)) and node.arg:
            found.add(node.arg)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            found.add(node.value)
    return found & names


def test_each_field_is_named_in_at_most_two_python_modules():
    """The contract model and at most one other module: everything else reads rules/fields.yaml."""
    where: dict[str, list[str]] = {}
    for folder in ("decision_aid", "app_pages"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            for name in _named_fields(path):
                where.setdefault(name, []).append(path.relative_to(ROOT).as_posix())
    too_many = {name: files for name, files in where.items() if len(files) > 2}
    assert not too_many, too_many
    assert all("decision_aid/models.py" in files for files in where.values())
