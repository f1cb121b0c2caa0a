"""One router per resource, mounted under ``/api/v1`` by :func:`cairn.api.app.create_app`."""
