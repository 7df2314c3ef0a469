"""Contract tests for ZStack Cloud's REST API, derived from its published API reference pages."""

from __future__ import annotations

__version__ = "0.1.0"
