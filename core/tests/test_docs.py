"""Every hook is documented in docs/plugins.md with its exact arguments."""

import inspect
from pathlib import Path

from labelport import hookspecs

DOCS = Path(__file__).resolve().parents[2] / "docs" / "plugins.md"


def test_every_hook_is_documented_with_its_arguments():
    text = DOCS.read_text()
    hooks = [f for name, f in vars(hookspecs).items() if name.startswith("labelport_") and callable(f)]
    assert len(hooks) == 6
    for hook in hooks:
        args = ", ".join(inspect.signature(hook).parameters)
        assert f"`{hook.__name__}({args})`" in text, f"{hook.__name__}({args}) is not documented in {DOCS.name}"
        assert hook.__doc__ and len(hook.__doc__.strip()) > 40, f"{hook.__name__} has no docstring"
