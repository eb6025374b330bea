"""Domain errors. Each says what went wrong and what to do; the service maps them to HTTP
status codes in one place and the CLI prints them as one line."""

from __future__ import annotations


class BylineError(Exception):
    """Base class; `hint` tells the user what to fix."""

    status_code = 500
    title = "Internal error"

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class InvalidInput(BylineError):
    status_code = 422
    title = "Invalid input"


class DocumentTooLarge(BylineError):
    status_code = 413
    title = "Document too large"


class NotFound(BylineError):
    status_code = 404
    title = "Not found"


class EmbeddingModelMismatch(BylineError):
    """A collection built with one embedding model must not get vectors from another."""

    status_code = 409
    title = "Embedding model mismatch"


class StoreEmpty(BylineError):
    """No articles are stored, so no question can be answered: said plainly instead of an
    abstention ("The articles don't say." would blame the articles)."""

    status_code = 409
    title = "Store empty"


class StoreBusy(BylineError):
    """Another process owns the embedded store."""

    status_code = 503
    title = "Store busy"


class StoreUnavailable(BylineError):
    status_code = 503
    title = "Vector store unavailable"


class StoreNotWritable(BylineError):
    status_code = 507
    title = "Store not writable"


class ModelUnavailable(BylineError):
    status_code = 503
    title = "Model unavailable"


class GenerationFailed(BylineError):
    status_code = 503
    title = "Generation failed"
