"""Recording as release 0.1.0 did: its domain refused only NUL characters and lone
surrogates in text, and took any date and any http(s) URL. Events are never rewritten,
so what it let through is in stores today, and every renderer must still show it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date

import pytest

import domain.commitment
import domain.joint_action
import domain.values
from domain.errors import InvalidValue

NOTHING = re.compile(r"(?!)")


def storable_in_0_1_0(text: str, field_name: str) -> str:
    if "\x00" in text:
        raise InvalidValue(field_name, "must not contain NUL characters")
    if any("\ud800" <= c <= "\udfff" for c in text):
        raise InvalidValue(field_name, "must be valid Unicode text (no lone surrogates)")
    return text


def any_day(day: date, field_name: str) -> date:
    return day


@contextmanager
def older_release() -> Iterator[None]:
    """Inside it, the domain takes what release 0.1.0 took."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(domain.values, "storable", storable_in_0_1_0)
        patch.setattr(domain.values, "BIDI_CONTROLS", NOTHING)
        patch.setattr(domain.commitment, "check_day", any_day)
        patch.setattr(domain.joint_action, "check_day", any_day)
        yield
