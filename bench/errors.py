"""The one base class of every error the user can fix.

Each module keeps its own subclass (``ConfigError``, ``DataError`` ...) so
that tests and callers can tell them apart, but the CLI catches this base
once and prints the message as one line with exit code 2: a bad input is
never a traceback. The message names what was wrong and how to fix it.
"""

from __future__ import annotations


class BenchError(ValueError):
    """A problem with the user's input, data or files, explained in its message.

    A subclass of ``ValueError`` so that code which caught the old per-module
    errors as ``ValueError`` keeps working.
    """
