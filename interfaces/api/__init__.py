"""The REST API (``/api/v1``): flask-smorest blueprints and marshmallow schemas."""
