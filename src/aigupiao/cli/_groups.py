"""The CLI's command groups kept in their own modules, attached to the main app.

Each module defines a ``typer.Typer`` and is added here with one line.
"""

from __future__ import annotations
