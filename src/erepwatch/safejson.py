"""JSON from a user's file, with the ways it can fail named: every reader of an import file uses it.

The standard decoder raises ``RecursionError`` on ``[[[[…`` nested a few thousand deep, ``ValueError`` on an
integer of more than 4,300 digits, and reads ``1e400`` as infinity (which then breaks ``int()`` far from the
file). Here each is :class:`InvalidInputError` with one line saying what is wrong.
"""

from __future__ import annotations

import json
import math
from typing import Any

from erepwatch.errors import InvalidInputError


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise InvalidInputError(f"the number {text[:40]} is out of range")
    return value


def _no_constant(name: str) -> float:
    raise InvalidInputError(f"{name} is not a JSON number")


def loads(text: str) -> Any:
    """``json.loads`` for untrusted files. Raises :class:`json.JSONDecodeError` for malformed JSON (the caller
    words it) and :class:`InvalidInputError` for what is well-formed but unusable."""
    try:
        return json.loads(text, parse_float=_finite, parse_constant=_no_constant)
    except RecursionError as exc:
        raise InvalidInputError("the JSON is nested too deeply to be an export") from exc
    except json.JSONDecodeError:
        raise
    except ValueError as exc:  # an integer of thousands of digits
        raise InvalidInputError(f"unreadable number: {str(exc).split(';')[0]}") from exc
