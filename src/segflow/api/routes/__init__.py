"""The API's routes, one module per area; each exposes ``router`` (included by ``create_app``)."""
