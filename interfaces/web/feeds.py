"""The Atom feed of a commitment's timeline (feedgen) and the iCalendar of its
milestones (icalendar). Stored text goes through ``interfaces.rendering`` first: lxml,
under feedgen, refuses what XML cannot carry."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from feedgen.feed import FeedGenerator
from icalendar import Calendar, Event

from application.ports import TimelineEntry
from interfaces.rendering import one_line, shown


def atom_feed(commitment: dict[str, Any], entries: list[TimelineEntry], root: str) -> bytes:
    page = f"{root}/commitments/{commitment['id']}"
    feed = FeedGenerator()
    feed.id(f"urn:uuid:{commitment['id']}")
    feed.title(one_line(f"{commitment['title']} ({commitment['external_ref']})"))
    feed.subtitle(one_line(f"The shared timeline of a commitment under {commitment['action_plan']}."))
    feed.link(href=page, rel="alternate")
    feed.link(href=f"{page}/feed.atom", rel="self")
    feed.language("en")
    updated = (
        entries[0].recorded_at if entries else datetime.fromisoformat(commitment["updated_at"].replace("Z", "+00:00"))
    )
    feed.updated(updated)
    for entry in reversed(entries):  # feedgen prepends: add oldest first, newest ends on top
        item = feed.add_entry()
        if str(entry.aggregate_id) == str(commitment["id"]):
            item.id(f"urn:tutahi:{commitment['id']}:{entry.version}")  # one of the commitment's own versions
        else:  # a joint action's event: the commitment's version did not move, its log position is its own
            item.id(f"urn:tutahi:log:{entry.position}")
        item.title(one_line(entry.summary))
        item.link(href=f"{page}#entry-{entry.position}")
        item.author({"name": one_line(entry.actor_name)})
        item.published(entry.recorded_at)
        item.updated(entry.recorded_at)
        happened = f" It happened on {entry.occurred_on.isoformat()}." if entry.occurred_on else ""
        item.summary(shown(f"{entry.summary}{happened}"))
        item.category(term=entry.kind)
    return bytes(feed.atom_str(pretty=True))


def milestones_calendar(commitment: dict[str, Any], root: str) -> bytes:
    calendar = Calendar()
    calendar.add("prodid", "-//Tūtahi//milestones//EN")
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", one_line(f"{commitment['external_ref']} milestones"))
    stamp = datetime.now(UTC)
    page = f"{root}/commitments/{commitment['id']}"
    for milestone in commitment["milestones"]:
        due = datetime.fromisoformat(milestone["due_on"]).date()
        event = Event()
        event.add("uid", f"{milestone['id']}@tutahi")
        event.add("dtstamp", stamp)
        event.add("dtstart", due)
        if due < date.max:  # a date an older release let through; without an end it still lasts the day
            event.add("dtend", due + timedelta(days=1))
        reached = milestone["reached_on"]
        event.add("summary", one_line(f"{'Reached: ' if reached else 'Due: '}{milestone['title']}"))
        lines = [f"{commitment['title']} ({commitment['external_ref']})", f"Due {milestone['due_on']}."]
        if reached:
            lines.append(f"Reached {reached}.")
        if milestone["evidence_url"]:
            lines.append(f"Evidence: {milestone['evidence_url']}")
        event.add("description", shown("\n".join(lines)))
        event.add("url", page)
        event.add("status", "CONFIRMED")
        calendar.add_component(event)
    return bytes(calendar.to_ical())
