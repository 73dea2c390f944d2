"""`opencrf upgrade` and `opencrf report` (operations reports, demo history)."""

from __future__ import annotations

import argparse


def add_parsers(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the upgrade and report commands (imports nothing from Django at module level)."""
