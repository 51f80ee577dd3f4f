"""labelport's errors. Every error a reader, writer or the API raises on bad
input is a :class:`LabelportError` carrying the file and the place in it."""

from __future__ import annotations

from pathlib import Path


class LabelportError(Exception):
    """Base of all labelport errors: ``file:location: message`` on one line."""

    exit_code = 2

    def __init__(self, message: str, *, file: str | Path | None = None, location: str | None = None):
        super().__init__(message)
        self.message = message
        self.file = str(file) if file is not None else None
        self.location = location

    def __str__(self) -> str:
        where = ":".join(p for p in (self.file, self.location) if p)
        return f"{where}: {self.message}" if where else self.message


class FormatError(LabelportError):
    """The input does not follow its format (syntax, missing or ill-typed fields, bad numbers)."""


class UnsafeInputError(LabelportError):
    """The input tried something refused for safety (path traversal, entity expansion, archive bomb)."""


class DetectionError(LabelportError):
    """No installed format recognises the input."""


class AmbiguousFormatError(DetectionError):
    """Several formats recognise the input equally well; name one with ``format=``."""

    def __init__(self, message: str, *, candidates: list[str], file: str | Path | None = None):
        super().__init__(message, file=file)
        self.candidates = candidates


class UnknownFormatError(LabelportError):
    """A format id that no installed plugin provides."""


class OptionsError(LabelportError):
    """An option that the API, the CLI or a plugin does not accept."""


class LossyConversionError(LabelportError):
    """A strict conversion refused because the target cannot hold everything."""

    exit_code = 1


class TargetExistsError(LabelportError):
    """The output exists and overwriting was not asked for."""


class MissingDependencyError(LabelportError):
    """An optional dependency is not installed; the message says what to install."""
