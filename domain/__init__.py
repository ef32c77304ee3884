"""The Tūtahi domain: commitments and partners as event-sourced aggregates.

Imports only the standard library and ``eventsourcing.domain``.
"""
