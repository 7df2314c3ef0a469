"""The Jinja2 templates of every HTML page or fragment the project writes.

Autoescape is on for all of them, whatever their name: server text (bodies, header values, error details,
JSON keys) reaches the reports, and escaping it must not depend on each call site remembering to.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

_ENV = Environment(
    loader=FileSystemLoader(Path(__file__).parent),
    autoescape=True,
    # A misspelt name in a template fails the render instead of printing nothing.
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def render(name: str, /, **context: Any) -> str:
    """Render the template ``name`` (a file beside this module) with ``context``."""
    return _ENV.get_template(name).render(**context)
