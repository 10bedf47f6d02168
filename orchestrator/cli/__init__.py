"""The ``orchestrator`` command: argument parsing, the commands, the demo.

The top layer: it may import every other layer; nothing imports it.
"""

from orchestrator.cli.parser import main

__all__ = ["main"]
