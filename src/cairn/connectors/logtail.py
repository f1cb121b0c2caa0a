"""Reading an attempt's logs as they grow: stdout, stderr and ``ctx logger`` lines.

Scripts write to files, not pipes, so that they keep running when the manager dies. A
:class:`Tail` remembers how far it has read a file and hands out complete lines only,
until the attempt has ended and the last, unterminated line is final too.
"""

from __future__ import annotations

import datetime
import json
import os
from collections.abc import Callable

from cairn.connectors import interface, masking

Clock = Callable[[], datetime.datetime]
CHUNK = 1 << 20  # read at most this much of a file per look
LEVELS = {level.value: level for level in interface.LogLevel}


class Tail:
    """One growing file; kept open once it exists, so a look costs one ``fstat``."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.offset = 0
        self.partial = b""
        self.fd: int | None = None

    def read(self, *, final: bool) -> list[str]:
        data = self._new_bytes(final=final)
        if final:
            self.close()
        if not data and not (final and self.partial):
            return []
        data = self.partial + data
        lines = data.split(b"\n")
        self.partial = lines.pop()
        if final and self.partial:
            lines.append(self.partial)
            self.partial = b""
        return [line.rstrip(b"\r").decode("utf-8", "replace") for line in lines]

    def _new_bytes(self, *, final: bool) -> bytes:
        if self.fd is None:
            try:
                self.fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
            except OSError:
                return b""
        size = os.fstat(self.fd).st_size
        if size <= self.offset:
            return b""
        chunks = []
        while self.offset < size:
            chunk = os.pread(self.fd, min(CHUNK, size - self.offset), self.offset)
            if not chunk:
                break
            chunks.append(chunk)
            self.offset += len(chunk)
            if not final:
                break
        return b"".join(chunks)

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


class Tails:
    """The three logs of one attempt folder, turned into masked :class:`LogLine` objects."""

    def __init__(self, folder: str, *, masker: masking.Masker, clock: Clock) -> None:
        self.stdout = Tail(os.path.join(folder, "stdout"))
        self.stderr = Tail(os.path.join(folder, "stderr"))
        self.ctx = Tail(os.path.join(folder, "ctx.log"))
        self.masker = masker
        self.clock = clock
        self.last_stderr: list[str] = []

    def read(self, *, final: bool = False) -> list[interface.LogLine]:
        now = self.clock()
        lines = [self._ctx_line(text, now) for text in self.ctx.read(final=final) if text]
        for stream, tail in (("stdout", self.stdout), ("stderr", self.stderr)):
            for text in tail.read(final=final):
                masked = self.masker.mask(text)
                lines.append(
                    interface.LogLine(
                        timestamp=now, level=interface.LogLevel.INFO, message=masked, stream=stream
                    )
                )
                if stream == "stderr" and masked.strip():
                    self.last_stderr = [*self.last_stderr[-4:], masked]
        return lines

    def close(self) -> None:
        for tail in (self.stdout, self.stderr, self.ctx):
            tail.close()

    def _ctx_line(self, text: str, now: datetime.datetime) -> interface.LogLine:
        try:
            record = json.loads(text)
            stamp = datetime.datetime.fromtimestamp(float(record["t"]), datetime.UTC)
            level = LEVELS.get(str(record.get("level")), interface.LogLevel.INFO)
            message = str(record.get("message", ""))
        except (ValueError, KeyError, TypeError, OverflowError):
            stamp, level, message = now, interface.LogLevel.INFO, text
        return interface.LogLine(
            timestamp=stamp, level=level, message=self.masker.mask(message), stream="ctx"
        )
