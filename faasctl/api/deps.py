"""What a route needs from the app, in a module of its own so routes do not import `app`
(which imports the routes): the CoreRunner the app was built with."""

from __future__ import annotations

from fastapi import Request

from ..core.runner import CoreRunner


def core_of(request: Request) -> CoreRunner:
    runner: CoreRunner = request.app.state.core
    return runner
