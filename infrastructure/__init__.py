"""What talks to the outside: the event store's configuration, the read-model and
log-index tables, settings."""
