"""The HTTP API (`segflow serve`): FastAPI over the same services as the CLI.

``create_app(hosts)`` builds the app; a :class:`~segflow.api.host.Host` is one served project
(a workspace) with its warehouse lock, tracking inbox and background loop. Routes live in
``routes/`` and stay thin: parse, call one service, serialise its typed result.
"""
