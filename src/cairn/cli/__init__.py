"""The ``cairn`` command line (Typer); thin commands that call services."""
