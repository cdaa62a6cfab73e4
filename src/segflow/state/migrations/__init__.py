"""Alembic migrations of the state store (``versions/``, one file per revision).

:data:`HEAD` names the newest revision so that opening a store already at head needs no
Alembic import (a test checks it against the scripts: bump it with every new migration).
"""

HEAD = "0006"
