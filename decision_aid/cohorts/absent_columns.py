"""The warning for a CSV or Parquet cohort without a column for a red-flag field.

A column left out is a field left out of every row, so its contract default applies: no red
flag. That is what the contract says, but a registry that never recorded red flags would then
read as a cohort without any, silently. `absent_red_flags_warning` says so in one line, naming
the columns. Which fields are red-flag fields is read from the knowledge bases in use (every
field a red flag's condition reads), never listed here; the default shown is the contract's.
A JSONL cohort has no columns (each row's patient is its own object): nothing to warn about.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from pathlib import Path

from decision_aid.knowledge import conditions as cond
from decision_aid.knowledge.fields import fields
from decision_aid.knowledge.labels import show_value
from decision_aid.knowledge.loader import Knowledge
from decision_aid.models import PatientFactors


def red_flag_fields(knowledge: Iterable[Knowledge]) -> list[str]:
    """The input fields any red flag of these knowledge bases reads, in the contract's order."""
    read = {name for base in knowledge for flag in base.red_flags for name in cond.field_names(flag.expr)}
    return [name for name in fields() if name in read]


def columns(path: str | Path) -> list[str] | None:
    """A CSV or Parquet cohort's column names (None: a JSONL cohort, or a file that cannot be read:
    the cohort reader reports that)."""
    path = Path(path)
    kind = path.suffix.lower()
    try:
        if kind == ".csv":
            with open(path, encoding="utf-8-sig", newline="") as source:
                return next(csv.reader(source), [])
        if kind in (".parquet", ".pq"):
            import pyarrow.parquet as pq

            return list(pq.ParquetFile(path).schema_arrow.names)
    except Exception:  # the reader says what is wrong with the file
        return None
    return None


def absent_red_flags_warning(path: str | Path, knowledge: Iterable[Knowledge]) -> str | None:
    """One line naming the red-flag fields the cohort file has no column for, or None."""
    names = columns(path)
    if names is None:
        return None
    absent = [name for name in red_flag_fields(knowledge) if name not in names]
    if not absent:
        return None
    defaults = {name: show_value(name, PatientFactors.model_fields[name].default) for name in absent}
    shown = ", ".join(name if defaults[name] == "no" else f"{name} (read as {defaults[name]})" for name in absent)
    return (
        f"warning: the cohort has no column for {shown}: read as no, the contract's default; "
        "if the registry did not record these red flags, its patients are not known to be free of them"
    )
