"""Cloudify's operation exceptions: how a Python script says whether to try again."""

from __future__ import annotations


class NonRecoverableError(Exception):
    """Do not try the operation again."""

    def __init__(self, *args: object, causes: list[object] | None = None) -> None:
        self.causes = causes or []
        super().__init__(*args)


class RecoverableError(Exception):
    """The operation may succeed if tried again (after ``retry_after`` seconds)."""

    def __init__(
        self,
        message: str = "",
        retry_after: float | None = None,
        causes: list[object] | None = None,
    ) -> None:
        if retry_after is not None:
            suffix = f"[retry_after={retry_after}]"
            if suffix not in message:
                message = f"{message} {suffix}"
        self.retry_after = retry_after
        self.causes = causes or []
        super().__init__(message)


class OperationRetry(RecoverableError):
    """Raised for ``ctx.operation.retry``."""


class HttpException(NonRecoverableError):
    def __init__(self, url: str, code: int, message: str) -> None:
        self.url = url
        self.code = code
        self.message = message
        super().__init__(f"{code} ({url}) : {message}")


class CommandExecutionException(Exception):
    def __init__(self, command: str, error: str, output: str, code: int) -> None:
        self.command = command
        self.error = error
        self.output = output
        self.code = code
        super().__init__(
            f"Command '{command}' executed with an error.\ncode: {code}\n"
            f"error: {error or None}\noutput: {output or None}"
        )


class TimeoutException(Exception):
    """Some kind of timeout happened."""
