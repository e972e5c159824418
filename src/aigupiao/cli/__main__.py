"""``python -m aigupiao.cli``: the same as the ``aigupiao`` command."""

from . import app

app()
