"""Typed errors. Each carries the exit code the CLI maps it to (see README, "Exit codes")."""

from __future__ import annotations


class AptNarrateError(Exception):
    """Base class: a problem the user can act on. The message is shown as is."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class UsageError(AptNarrateError):
    """Bad combination of options (argparse handles plain syntax errors)."""

    exit_code = 2


class InputError(AptNarrateError):
    """The input file is missing, unreadable or malformed."""

    exit_code = 3

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        line: int | None = None,
        column: int | str | None = None,
        hint: str | None = None,
    ) -> None:
        where = path or "<input>"
        if line is not None:
            where += f":{line}"
            if column is not None:
                where += f":{column}" if isinstance(column, int) else f" (column {column!r})"
        super().__init__(f"{where}: {message}", hint=hint)
        self.path = path
        self.line = line
        self.column = column


class ConfigError(AptNarrateError):
    """Missing or invalid configuration (API key, model, option values)."""

    exit_code = 4


class BudgetError(AptNarrateError):
    """The prompt cannot be brought under the token budget."""

    exit_code = 5


class BackendError(AptNarrateError):
    """The LLM backend failed: transport errors after retries, refusals, truncation."""

    exit_code = 6


class ValidationFailed(AptNarrateError):
    """The model's answer failed schema or grounding checks on every attempt."""

    exit_code = 7

    def __init__(self, message: str, *, attempts: int, errors: list[str], hint: str | None = None):
        super().__init__(message, hint=hint)
        self.attempts = attempts
        self.errors = errors
