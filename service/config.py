"""The HTTP service's settings: the pipeline's (`rag.config.Settings`) plus what only a
server needs — keys, rate limits, queues, body limits, the request deadline. The pipeline
never sees these; it gets a deadline per call instead."""

from __future__ import annotations

from pydantic import Field, SecretStr

from rag.config import Settings


class ServiceSettings(Settings):
    """Read from the same environment and `.env` (``BYLINE_`` prefix) as `Settings`."""

    admin_keys: SecretStr | None = Field(
        default=None, description="Comma-separated keys for every route, the documents API included."
    )
    public_keys: SecretStr | None = Field(
        default=None,
        description="Comma-separated keys for ask/chat/search only; "
        "`key@https://a.example|https://b.example` binds a key to the browser origins allowed to use it.",
    )
    allow_open: bool = Field(
        default=False, description="Allow serving on a non-loopback host with no keys configured."
    )
    rate_limit_per_minute: float = Field(
        default=60.0, ge=0, description="Sustained requests per minute per key or client IP; 0 = no limit."
    )
    rate_limit_burst: int = Field(default=30, ge=1, description="Requests allowed at once above the rate.")
    queue_max: int = Field(
        default=8, ge=0, description="Questions that may wait for the generator; past it: 503 + Retry-After."
    )
    generation_concurrency: int = Field(
        default=4, ge=1, description="Questions answered at once by remote backends (local: always 1)."
    )
    request_timeout_s: float = Field(default=120.0, gt=0, description="Past it: 504 (or an SSE error event).")
    max_body_bytes: int = Field(
        default=1_000_000, ge=1024, description="Largest request body, except document uploads."
    )

    @classmethod
    def of(cls, settings: Settings | None) -> ServiceSettings:
        """The service's settings for a pipeline `Settings` (service fields at their
        defaults, the environment not read again); service settings stay as they are."""
        if settings is None:
            return cls()
        if isinstance(settings, ServiceSettings):
            return settings
        return cls.model_validate(settings.model_dump())
