"""Use cases, queries and projections of Tūtahi (imports the domain only)."""
