"""The web side (Starlette): pages and links people open in a browser, mounted behind the API.

Each module of this package that serves pages exposes `routes(services) -> list[BaseRoute]`;
this app collects them.
"""

from __future__ import annotations

import importlib
import pkgutil

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute

from openses.api.context import Services

_NOT_PAGES = {"app", "dev"}


async def _not_found(request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse({"message": "Not Found"}, status_code=404)


def create_web_app(services: Services) -> Starlette:
    import openses.web as package

    routes: list[BaseRoute] = []
    for info in pkgutil.iter_modules(package.__path__):
        if info.name in _NOT_PAGES:
            continue
        module = importlib.import_module(f"openses.web.{info.name}")
        if hasattr(module, "routes"):
            routes.extend(module.routes(services))
    return Starlette(routes=routes, exception_handlers={404: _not_found})
