"""Pictures of progress, drawn on the server as SVG with pygal (no JavaScript, no
external scripts): milestones due and reached over time, and completion as reported by
the lead agencies and as assessed independently, each at the date it describes."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any

import pygal
from pygal.style import Style

from domain.values import EARLIEST_DAY, LATEST_DAY
from interfaces.rendering import one_line

COMMENT = re.compile(r"<!--.*?-->", re.S)
# pygal writes its configuration (labels and titles among it) into the picture for its
# tooltips script, which the pages do not load: the page's policy allows no inline script.
SCRIPT = re.compile(r"<script\b.*?</script>", re.S)
# The page's policy allows inline <style> only with its nonce, and no style attribute
# (pygal's one is on its tooltip, which needs that script).
STYLE_ATTRIBUTE = re.compile(r' style="[^"]*"')
MOST_TICKS = 12
COMPLETION_LEVELS = ["not_started", "limited", "substantial", "complete"]
COMPLETION_LABELS = {
    "not_started": "not started",
    "limited": "limited",
    "substantial": "substantial",
    "complete": "complete",
}

STYLE = Style(
    background="transparent",
    plot_background="#ffffff",
    foreground="#1d2b2a",
    foreground_strong="#1d2b2a",
    foreground_subtle="#5b6b69",
    colors=("#0b6e4f", "#c8553d", "#2f5d8a", "#8a6d1d"),
    font_family="system-ui, -apple-system, 'Segoe UI', Roboto, 'Noto Sans', sans-serif",
    label_font_size=13,
    major_label_font_size=13,
    legend_font_size=14,
    title_font_size=16,
    value_font_size=12,
)


def _base(chart_class: Any, **options: Any) -> Any:
    settings: dict[str, Any] = {
        "style": STYLE,
        "js": [],  # no tooltips script: nothing is fetched from elsewhere
        "disable_xml_declaration": True,
        "explicit_size": False,
        "width": 760,
        "height": 300,
        "show_dots": True,
        "dots_size": 3,
        "legend_at_bottom": True,
        "truncate_legend": -1,
        "margin": 16,
    }
    settings.update(options)
    return chart_class(**settings)


def _svg(chart: Any, nonce: str) -> str:
    rendered = str(chart.render(is_unicode=True))
    # pygal's credit comments name other hosts (pygal.org, github.com): the page keeps
    # no URL of another host but the evidence links users give.
    rendered = STYLE_ATTRIBUTE.sub("", SCRIPT.sub("", COMMENT.sub("", rendered)))
    rendered = rendered.replace("<style", f'<style nonce="{nonce}"')
    # The figure's caption and data table are the text alternative; the drawing itself
    # is hidden from assistive technology so it is not read twice.
    return rendered.replace("<svg ", '<svg aria-hidden="true" focusable="false" ', 1)


def step_counts(days: Iterable[date]) -> list[tuple[date, int]]:
    """Cumulative counts at each distinct date (a step series)."""
    counts: list[tuple[date, int]] = []
    for total, day in enumerate(sorted(days), start=1):
        if counts and counts[-1][0] == day:
            counts[-1] = (day, total)
        else:
            counts.append((day, total))
    return counts


def _steps(counts: list[tuple[date, int]], end: date) -> list[tuple[date, int]]:
    """A cumulative count drawn as steps: flat until each date, then up."""
    points: list[tuple[date, int]] = []
    previous = 0
    for day, total in counts:
        points.append((day, previous))
        points.append((day, total))
        previous = total
    if points and points[-1][0] < end:
        points.append((end, previous))
    return points


def _half_years(start: date, end: date) -> list[date]:
    """Ticks on the first of January and July, thinned to at most ``MOST_TICKS``."""
    ticks = []
    year, month = start.year, 1 if start.month <= 6 else 7
    while date(year, month, 1) <= end:
        if date(year, month, 1) >= start:
            ticks.append(date(year, month, 1))
        year, month = (year, 7) if month == 1 else (year + 1, 1)
    step = max(1, -(-len(ticks) // MOST_TICKS))
    return ticks[::step] or [start, end]


def _drawable(day: date) -> bool:
    """Dates the picture can place (older releases stored some far outside the range the
    domain now keeps, where the axis arithmetic overflows); the figures' table still lists
    every date."""
    return EARLIEST_DAY <= day <= LATEST_DAY


def milestones_chart(milestones: list[dict[str, Any]], title: str, nonce: str) -> str | None:
    """Milestones due (cumulative, by due date) and reached (by date reached), as steps."""
    due = step_counts(d for d in (date.fromisoformat(m["due_on"]) for m in milestones) if _drawable(d))
    reached = step_counts(
        d for d in (date.fromisoformat(m["reached_on"]) for m in milestones if m["reached_on"]) if _drawable(d)
    )
    if not due:
        return None
    first = min([d for d, _ in due] + [d for d, _ in reached])
    last = max([d for d, _ in due] + [d for d, _ in reached])
    start, end = date(first.year, first.month, 1) - timedelta(days=1), last + timedelta(days=31)
    chart = _base(
        pygal.DateLine,
        title=one_line(title),
        x_label_rotation=0,
        truncate_label=-1,
        x_value_formatter=lambda d: d.strftime("%b %Y"),
        x_labels=_half_years(start, end),
        y_title="milestones",
        range=(0, max(1, len(milestones))),
        y_labels=list(range(0, len(milestones) + 1)),
        stroke_style={"width": 3},
        show_dots=False,
    )
    chart.add("due", _steps(due, end))
    chart.add("reached", _steps(reached, end) or [(start, 0), (end, 0)])
    return _svg(chart, nonce)


def report_day(report: dict[str, Any]) -> date:
    """The date a self-report describes (``as_of``; reports recorded before reports said
    it: the day recorded, in UTC)."""
    if report.get("as_of"):
        return date.fromisoformat(report["as_of"])
    return datetime.fromisoformat(report["reported_at"].replace("Z", "+00:00")).date()


def completion_chart(
    reports: list[dict[str, Any]], assessments: list[dict[str, Any]], title: str, nonce: str
) -> str | None:
    """Completion over the dates it describes: the lead agencies' own reports (at each
    report's ``as_of``) and the independent assessments (at ``assessed_on``), as two
    series, so that neither is read as the other."""
    own = sorted((day, COMPLETION_LEVELS.index(r["completion"])) for r in reports if _drawable(day := report_day(r)))
    independent = sorted(
        (day, COMPLETION_LEVELS.index(a["completion"]))
        for a in assessments
        if _drawable(day := date.fromisoformat(a["assessed_on"]))
    )
    if not own and not independent:
        return None
    days = [d for d, _ in own + independent]
    start = date(min(days).year, min(days).month, 1) - timedelta(days=1)
    end = max(days) + timedelta(days=31)
    chart = _base(
        pygal.DateLine,
        title=one_line(title),
        x_label_rotation=0,
        truncate_label=-1,
        x_value_formatter=lambda d: d.strftime("%b %Y"),
        x_labels=_half_years(start, end),
        range=(0, 3),
        y_labels=[{"label": COMPLETION_LABELS[level], "value": i} for i, level in enumerate(COMPLETION_LEVELS)],
        margin_right=80,
        stroke_style={"width": 3},
        dots_size=5,
    )
    nothing: list[tuple[date, int | None]] = [(start, None)]  # a series with no point, kept in the legend
    chart.add("self-reported by the lead agency", own or nothing)
    chart.add("independent assessment", independent or nothing)
    return _svg(chart, nonce)


def plan_chart(commitments: list[dict[str, Any]], title: str, nonce: str) -> str | None:
    """For a plan: milestones reached of those due, per commitment."""
    if not commitments:
        return None
    most = max(c["milestones_total"] for c in commitments)
    chart = _base(
        pygal.HorizontalStackedBar,
        title=one_line(title),
        x_title="milestones",
        print_values=True,
        print_zeroes=False,
        y_labels=list(range(0, most + 1)),
        height=120 + 44 * len(commitments),
    )
    chart.x_labels = [one_line(c["external_ref"]) or one_line(c["title"])[:24] for c in commitments]
    chart.add("reached", [c["milestones_reached"] for c in commitments])
    chart.add("not yet reached", [c["milestones_total"] - c["milestones_reached"] for c in commitments])
    return _svg(chart, nonce)


def completion_rollup_chart(own: dict[str, int], assessed: dict[str, int], title: str, nonce: str) -> str | None:
    """For a plan: how many of its commitments stand at each completion level, as the
    lead agencies last reported it and as it was last independently assessed, side by
    side (the first column: those with no report or no assessment yet)."""
    if not sum(own.values()) and not sum(assessed.values()):
        return None
    levels = [None, *COMPLETION_LEVELS]
    most = max([*own.values(), *assessed.values(), 1])
    chart = _base(
        pygal.Bar,
        title=one_line(title),
        print_values=True,
        print_zeroes=False,
        y_title="commitments",
        y_labels=list(range(0, most + 1)),
        range=(0, most),
    )
    chart.x_labels = ["none yet" if level is None else COMPLETION_LABELS[level] for level in levels]
    chart.add("self-reported by the lead agencies", [own.get(level or "not_reported", 0) for level in levels])
    chart.add("independently assessed", [assessed.get(level or "not_assessed", 0) for level in levels])
    return _svg(chart, nonce)
