"""Sphinx configuration: the documentation site (``tox -e docs``).

The format matrix and the schema reference are generated at build time from the
installed plugins and the pydantic models, so they never drift from the code."""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))

import generate  # noqa: E402

project = "labelport"
author = "labelport contributors"
extensions = ["myst_parser", "sphinx.ext.autodoc", "sphinx.ext.napoleon"]
source_suffix = {".md": "markdown"}
exclude_patterns = ["_build", "example-plugin/**/tests", "**/.hypothesis", "**/*.egg-info"]
myst_heading_anchors = 3
autodoc_member_order = "bysource"
autodoc_typehints = "none"
html_theme = "alabaster"
suppress_warnings = ["myst.xref_missing"]

generate.write_all(HERE / "_generated")
