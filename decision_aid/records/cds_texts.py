"""What the CDS Hooks service says about itself, from rules/cds_hooks.yaml: its id, title and
description for discovery, and the tests a card may propose to order.

Invariant: every orderable test is a `test:` that rules/fields.yaml names, so a card can
only ever propose a test the knowledge base itself asks for; a problem raises
KnowledgeError naming the file.
"""

from __future__ import annotations

import datetime as dt
from functools import cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from decision_aid.errors import KnowledgeError, KnowledgeProblem
from decision_aid.knowledge.fields import fields
from decision_aid.knowledge.files import read_yaml, rules_dir

FILE = "cds_hooks.yaml"


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ServiceText(_Spec):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")
    title: str = Field(min_length=1)
    description: str = Field(min_length=1)
    usage_requirements: str = Field(min_length=1)


class CdsTexts(_Spec):
    service: ServiceText
    orderable_tests: tuple[str, ...]
    reviewed: dt.date


@cache
def cds_texts() -> CdsTexts:
    """The bundled rules/cds_hooks.yaml (read once per process)."""
    return load_texts(rules_dir())


def load_texts(directory: Path) -> CdsTexts:
    path = directory / FILE
    try:
        texts = CdsTexts.model_validate(read_yaml(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, ValidationError) as error:
        raise KnowledgeError([KnowledgeProblem(FILE, "", f"invalid: {str(error)[:300]}")]) from None
    named = {spec.test for spec in fields().values() if spec.test}
    unknown = [t for t in texts.orderable_tests if t not in named]
    if unknown:
        problems = [KnowledgeProblem(FILE, "", f"orderable test {t!r} is named by no field's test:") for t in unknown]
        raise KnowledgeError(problems)
    return texts
