"""``segflow serve``: the HTTP API over one or more workspaces (projects), with the worker inside."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from segflow.cli.common import ProjectOpt
from segflow.cli.output import err

__all__ = ["register", "serve"]


def serve(
    project: ProjectOpt = None,
    host: Annotated[str, typer.Option("--host", help="Address to listen on (0.0.0.0: every interface).")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port (0: any free port).")] = 8000,
    workspace: Annotated[list[Path] | None, typer.Option(
        "--workspace", "-w", metavar="DIR", help="Serve this project folder as a workspace (repeat for several; default: the project).",
    )] = None,
    no_worker: Annotated[bool, typer.Option("--no-worker", help="Do not run due refreshes and journeys here "
                                                                "(run `segflow worker` apart).")] = False,
    interval: Annotated[float, typer.Option("--interval", help="Seconds between rounds of background work "
                                                               "(tracking flush, journeys).")] = 0.5,
    log_level: Annotated[str, typer.Option("--log-level", help="uvicorn's log level.")] = "info",
) -> None:
    """Serve the HTTP API: tracking (/v1, Segment-compatible), the management API (/api), docs at /docs.

    Tracking calls are durable in the state store before they are answered, and move into the warehouse every --interval. Other commands keep working on the project: they borrow the warehouse from the server while they run (docs/api.md)."""
    import socket

    import uvicorn

    import segflow
    from segflow.api.app import create_app
    from segflow.api.host import Host
    from segflow.hosting import remove_server_file, write_server_file

    folders: list[Path | None] = [*(workspace or [])] or [project]
    hosts = []
    try:
        for folder in folders:
            ws = segflow.open(folder)
            ws.warehouse  # noqa: B018 - fails now, plainly, when another process holds the project
            hosts.append(Host(ws, worker=not no_worker, interval=interval))
        sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(2048)  # connections wait in the backlog from the moment serve.json announces the URL
        bound = sock.getsockname()[1]
        shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
        url = f"http://{shown}:{bound}"
        tokens = {h.name: write_server_file(h.ctx.root, url, h.name).token for h in hosts}
        def unannounce() -> None:
            for h in hosts:
                remove_server_file(h.ctx.root)

        app = create_app(hosts, tokens=tokens, on_close=unannounce)
        names = ", ".join(h.name for h in hosts)
        err.print(f"Serving {names} at {url} (API docs: {url}/docs)" + (" without the worker" if no_worker else ""),
                  highlight=False)
        config = uvicorn.Config(app, log_level=log_level, access_log=log_level == "debug", timeout_graceful_shutdown=10)
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        for h in hosts:
            remove_server_file(h.ctx.root)
            h.close()


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
