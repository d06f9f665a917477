"""`faasctl serve`'s HTTP API: the seed-compatible routes and /v1, over the shared core."""

from .app import DEFAULT_MAX_BODY, create_app

__all__ = ["DEFAULT_MAX_BODY", "create_app"]
