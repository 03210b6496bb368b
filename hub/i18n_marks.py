"""``N_``: marks a string for the translation catalog where it is defined (label tables);
it is translated where it is shown, with ``_()``."""

from __future__ import annotations


def N_(message: str) -> str:
    return message
