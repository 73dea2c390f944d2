"""`opencrf maintenance on|off|status`."""

from __future__ import annotations

import argparse


def add_parsers(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the maintenance-mode command (imports nothing from Django at module level)."""
