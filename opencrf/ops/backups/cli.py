"""`opencrf backup`, `opencrf backup list`, `opencrf restore`."""

from __future__ import annotations

import argparse


def add_parsers(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the backup and restore commands (imports nothing from Django at module level)."""
