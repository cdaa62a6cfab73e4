"""segflow.errors: the tree drawn in its docstring is the hierarchy of its classes."""

from __future__ import annotations

import re

import segflow.errors as errors

#: A line of the tree: its drawing (``├── ``, ``│   └── ``) then a class name.
_NODE = re.compile(r"^    ((?:[│ ]   )*)(?:├── |└── )?(\w+Error)\b")


def _drawn() -> dict[str, str | None]:
    """Class name → parent name, as the docstring draws them."""
    parents: dict[str, str | None] = {}
    stack: list[str] = []
    for line in (errors.__doc__ or "").splitlines():
        found = _NODE.match(line)
        if not found:
            continue
        depth = len(found.group(1)) // 4 + (0 if line.lstrip().startswith(found.group(2)) else 1)
        del stack[depth:]
        parents[found.group(2)] = stack[-1] if stack else None
        stack.append(found.group(2))
    return parents


def test_the_docstring_tree_draws_every_error_class_under_its_parent() -> None:
    classes = {name: cls for name, cls in vars(errors).items()
               if isinstance(cls, type) and issubclass(cls, Exception) and cls.__module__ == errors.__name__}
    actual = {name: (cls.__base__.__name__ if cls is not errors.SegflowError else None)
              for name, cls in classes.items()}
    assert _drawn() == actual
    assert set(errors.__all__) >= set(classes)
