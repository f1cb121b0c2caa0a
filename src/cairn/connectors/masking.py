"""Secret values never leave a connector in clear: log lines and errors are masked.

A dispatch lists the plain values of the secrets its inputs used. Every occurrence is
replaced by ``MASK``, longest first (so a secret containing another is masked whole), also
in its JSON-escaped form (a script that prints its inputs as JSON). A multi-line secret (a
private key) is also masked line by line, since logs are read one line at a time.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

MASK = "******"
MIN_LINE = 4  # lines of a multi-line secret shorter than this are not masked on their own


class Masker:
    def __init__(self, secrets: Iterable[str]) -> None:
        needles: set[str] = set()
        for secret in secrets:
            if not secret:
                continue
            needles.add(secret)
            needles.add(json.dumps(secret)[1:-1])
            if "\n" in secret:
                needles.update(
                    line.strip() for line in secret.splitlines() if len(line.strip()) >= MIN_LINE
                )
        self._needles = sorted((n for n in needles if n), key=len, reverse=True)

    def __bool__(self) -> bool:
        return bool(self._needles)

    def mask(self, text: str) -> str:
        for needle in self._needles:
            if needle in text:
                text = text.replace(needle, MASK)
        return text

    def mask_optional(self, text: str | None) -> str | None:
        return None if text is None else self.mask(text)
