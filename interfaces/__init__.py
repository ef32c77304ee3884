"""The edges: the composition root, the ``tutahi`` command line, and (in later work)
the REST API, web pages and feeds."""
