"""Functions a notebook builds, loaded from its stored source so a test can compare them with labkit's.

Build-then-save: a notebook builds a mechanism in small cells, labkit holds the same function, and a test
proves the two agree on seeded property tests. :func:`notebook_function` takes the ``def`` of ``name``
from the instructor notebook (the last code cell that defines it) and compiles only that definition, in
a namespace the test provides (``np``, labkit modules, helper functions the definition calls), so the
test runs the notebook's code, not a copy of it.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any, Callable

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


def notebook_path(number: str) -> Path:
    """The instructor notebook ``NN-*.ipynb`` for a two-digit number."""
    found = sorted(NOTEBOOKS.glob(f"{number}-*.ipynb"))
    assert len(found) == 1, f"expected one notebook {number}-*.ipynb, found {found}"
    return found[0]


def notebook_function(number: str, name: str, namespace: dict[str, Any] | None = None) -> Callable:
    """The function ``name`` as the notebook ``number`` defines it, compiled in a copy of ``namespace``."""
    nb = json.loads(notebook_path(number).read_text())
    found = None
    for cell in nb["cells"]:
        if cell["cell_type"] != "code":
            continue
        source = "".join(cell["source"])
        if f"def {name}(" not in source:
            continue
        tree = ast.parse("\n".join(line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))))
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and node.name == name:
                found = node
    assert found is not None, f"notebook {number} defines no function {name}()"
    scope = dict(namespace or {})
    module = ast.Module(body=[found], type_ignores=[])
    exec(compile(module, f"<notebook {number}: {name}>", "exec"), scope)  # noqa: S102 - the lab's own notebook
    return scope[name]
