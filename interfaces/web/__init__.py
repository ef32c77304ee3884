"""The web pages and feeds community partners read: server-rendered HTML (Jinja),
Atom (feedgen) and iCalendar (icalendar)."""

from interfaces.web.routes import web

__all__ = ["web"]
