"""`python -m openses` is the `openses` command."""

from openses.cli.main import app

app()
