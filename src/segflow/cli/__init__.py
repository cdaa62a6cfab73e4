"""The ``segflow`` command: a thin layer over :class:`segflow.workspace.Workspace`."""
