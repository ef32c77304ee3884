"""Stored text as every renderer shows it: pages, pictures, feeds, calendars, CSV and the
command line.

The domain refuses control characters, but events are never rewritten, and an older
release let some through (a vertical tab in a reference, a bell in a description). Each
renderer therefore passes stored text through these functions at render time, so that
what the store holds always renders: lxml, under the SVG and Atom writers, refuses
characters that XML cannot carry, and a terminal obeys the escape sequences it is sent.
"""

from __future__ import annotations

import re

# What XML 1.0 cannot carry or a terminal would obey: control characters (C0 but line
# feed and tab, DEL, C1), lone surrogates, and the non-characters U+FFFE and U+FFFF.
UNSHOWABLE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
LINE_BREAKS = re.compile(r"[\n\t]+")
# A spreadsheet reads a cell that starts with one of these as a formula (or, with tab and
# carriage return, as the start of one).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def shown(text: str) -> str:
    """The text without the characters no renderer can show; line feeds and tabs kept."""
    return UNSHOWABLE.sub("", text)


def one_line(text: str) -> str:
    """The text shown on one line (a label, a title): line feeds and tabs become spaces."""
    return LINE_BREAKS.sub(" ", shown(text))


def escaped_json(text: str) -> str:
    """JSON text with the characters no renderer shows written as ``\\u`` escapes (still
    the same JSON): a terminal printing it obeys none of them."""
    return UNSHOWABLE.sub(lambda found: f"\\u{ord(found.group()):04x}", text)


def csv_cell(value: object) -> object:
    """A CSV cell: text shown, with a leading ``'`` where a spreadsheet would take it
    for a formula (``=HYPERLINK(…)``); numbers as they are."""
    if not isinstance(value, str):
        return value
    text = shown(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text
