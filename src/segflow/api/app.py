"""``create_app(hosts)``: the FastAPI application of `segflow serve`.

    >>> from segflow.api.app import create_app          # doctest: +SKIP
    >>> from segflow.api.host import Host               # doctest: +SKIP
    >>> app = create_app([Host(segflow.open("shop"))])  # doctest: +SKIP

Each host is one served workspace (a project). The app starts the hosts' background loops on
startup and closes them on shutdown; ``tokens`` (workspace → the token of its serve.json) enable
the internal lending routes.
"""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from segflow import __version__

if TYPE_CHECKING:
    from fastapi import FastAPI

    from segflow.api.host import Host

__all__ = ["ROUTERS", "create_app"]

#: The route modules of ``segflow.api.routes``, in the order their tags appear in /docs.
ROUTERS = ("tracking", "profiles", "definitions", "journeys", "loads", "audit", "internal")

DESCRIPTION = """\
segflow's HTTP API: Segment-compatible tracking (`/v1/...`, authenticated with a **write key**)
and the management API (`/api/...`, authenticated with a **secret key** that has the route's scope).
Send a key as the Basic user name (password empty) or as `Authorization: Bearer <key>`.
Every error is `{"code", "message", "path"}` with a 4xx status. See docs/api.md.
"""


def create_app(hosts: Host | Iterable[Host], *, tokens: dict[str, str] | None = None,
               start: bool = True, on_close: Callable[[], None] | None = None) -> FastAPI:
    from fastapi import FastAPI

    from segflow.api import errors
    from segflow.api.host import Host
    from segflow.api.limits import BodyLimit

    served = [hosts] if isinstance(hosts, Host) else list(hosts)
    by_name: dict[str, Host] = {}
    for host in served:
        if host.name in by_name:
            from segflow.errors import ProjectError

            raise ProjectError(f"two served workspaces are named {host.name!r}: name them apart in segflow.yaml",
                               code="duplicate_workspace", path=host.name)
        by_name[host.name] = host

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if start:
            for host in by_name.values():
                host.start()
        try:
            yield
        finally:
            if on_close is not None:  # before the hosts close: uvicorn re-raises SIGTERM after shutdown
                on_close()
            if start:
                for host in by_name.values():
                    host.close()

    app = FastAPI(title="segflow", version=__version__, description=DESCRIPTION, lifespan=lifespan,
                  docs_url="/docs", redoc_url=None)
    app.state.hosts = by_name
    app.state.tokens = dict(tokens or {})
    errors.install(app)
    app.add_middleware(BodyLimit)

    @app.get("/health", tags=["server"], summary="Is the server up")
    def health() -> dict[str, Any]:
        return {"status": "ok", "version": __version__}

    for name in ROUTERS:
        app.include_router(importlib.import_module(f"segflow.api.routes.{name}").router)
    return app
