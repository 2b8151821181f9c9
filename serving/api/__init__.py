"""The HTTP API: ``create_app`` builds it, ``routes/`` holds one router per resource."""
