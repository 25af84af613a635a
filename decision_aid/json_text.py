"""JSON text from outside (a file, a batch line, an upload, an API body) read safely.

Every way in goes through `read_json`, so every way in has the same limits:
- at most `MAX_INPUT_BYTES` for one patient, refused before parsing;
- UTF-8 only (a byte-order mark allowed);
- a repeated key in an object is an error naming the key (the standard library
  would silently keep the last one, and a red flag could vanish that way);
- nesting deeper than the interpreter can parse, numbers with more digits than
  Python converts, and values that overflow a float come back as one clear
  input error, never as RecursionError or ValueError.

Messages quote a rejected value only in a short, truncated form (`show`).
"""

from __future__ import annotations

import json
import math
from typing import Any

from decision_aid.errors import InputError, InputProblem

MAX_INPUT_BYTES = 1_000_000
"""One patient's input (a file, a batch line, an upload): larger input is refused unread."""

_MAX_DIGITS = 4000  # CPython refuses to convert integers of more than 4,300 digits
_SHOW_CHARS = 40


class NumberText(str):
    """A JSON number that no field could accept (too many digits, or beyond a float's range).

    Kept as its text so that validation rejects it with the field's name and allowed values.
    """


def read_json(data: str | bytes, what: str = "(input)", *, limit: int = MAX_INPUT_BYTES) -> Any:
    """Parse JSON text under the limits above; raise InputError (field `what`) otherwise.

    `limit` replaces MAX_INPUT_BYTES for a caller with a documented larger limit (a FHIR bundle
    file on the command line)."""
    size = len(data) if isinstance(data, bytes) else len(data.encode("utf-8", "surrogatepass"))
    if size > limit:
        raise InputError(
            [InputProblem(what, f"too large ({size:,} bytes; one patient may be at most {limit:,} bytes)")]
        )
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError:
            raise InputError([InputProblem(what, "not UTF-8 text: expected JSON in UTF-8")]) from None
    text = data.removeprefix("\ufeff")
    try:
        return json.loads(
            text,
            object_pairs_hook=_object_without_repeats,
            parse_int=_int,
            parse_float=_float,
            parse_constant=_constant,
        )
    except _RepeatedKey as error:
        raise InputError([InputProblem(show_key(error.key), "repeated key: each field may appear once")]) from None
    except json.JSONDecodeError as error:
        where = f"column {error.colno}" if "\n" not in text.strip() else f"line {error.lineno}, column {error.colno}"
        raise InputError([InputProblem(what, f"not valid JSON ({error.msg} at {where})")]) from None
    except RecursionError:
        raise InputError([InputProblem(what, "not a patient: the JSON is nested too deeply")]) from None


class _RepeatedKey(ValueError):
    def __init__(self, key: str):
        self.key = key


def _object_without_repeats(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _RepeatedKey(key)
        result[key] = value
    return result


def _int(text: str) -> int | NumberText:
    return int(text) if len(text) <= _MAX_DIGITS else NumberText(text)


def _float(text: str) -> float | NumberText:
    value = float(text)
    return value if math.isfinite(value) else NumberText(text)


def _constant(text: str) -> NumberText:
    """NaN, Infinity and -Infinity are not JSON; Python's parser would accept them."""
    return NumberText(text)


def show(value: Any) -> str:
    """A rejected value as a short JSON-like quote, whatever its size or depth."""
    if isinstance(value, NumberText):
        text = str(value)
    elif isinstance(value, str):
        text = json.dumps(value[: _SHOW_CHARS + 1], ensure_ascii=False)
    elif isinstance(value, bool) or value is None:
        text = json.dumps(value)
    elif isinstance(value, int):
        digits = abs(value).bit_length() * 0.30103
        text = f"an integer of about {digits:,.0f} digits" if digits > _SHOW_CHARS else str(value)
    elif isinstance(value, float):
        text = repr(value) if math.isfinite(value) else "a number beyond the range of a float"
    elif isinstance(value, dict):
        text = "an object" if value else "{}"
    elif isinstance(value, (list, tuple)):
        text = "a list" if value else "[]"
    else:
        text = f"a {type(value).__name__}"
    return text if len(text) <= _SHOW_CHARS else text[: _SHOW_CHARS - 1] + "…"


def show_key(key: Any) -> str:
    """A field name as given, for messages: never empty, never long."""
    key = str(key)
    if not key:
        return '""'
    return key if len(key) <= _SHOW_CHARS else key[: _SHOW_CHARS - 1] + "…"
