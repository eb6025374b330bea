"""The one settings object: read from the environment and `.env`, built once, passed in.

Most variables carry the ``BYLINE_`` prefix; the few that other tools already define
(``OPENAI_API_KEY``, ``OPENAI_BASE_URL``, ``CHROMA_HOST``…) are read under their usual
names too, so an existing shell set-up just works.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = PACKAGE_DIR.parent

EmbedBackend = Literal["onnx", "openai"]
LLMBackend = Literal["auto", "local", "openai", "extractive"]
ResolvedLLMBackend = Literal["local", "openai", "extractive"]


def _default_data_dir() -> Path:
    xdg = os.environ.get("XDG_DATA_HOME")
    base = Path(xdg) if xdg else Path.home() / ".local" / "share"
    return base / "byline"


def default_seeds_dir() -> Path:
    """The bundled sample articles: `rag/seeds/` in an installed wheel (setup.py copies them
    there), the repository's `seeds/` in a checkout or an editable install."""
    bundled = PACKAGE_DIR / "seeds"
    return bundled if bundled.is_dir() else PROJECT_ROOT / "seeds"


def _alias(name: str, *plain: str) -> AliasChoices:
    return AliasChoices(f"BYLINE_{name.upper()}", *plain)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="BYLINE_", env_file=".env", extra="ignore", populate_by_name=True
    )

    # --- storage -------------------------------------------------------------------
    data_dir: Path = Field(default_factory=_default_data_dir)
    seeds_dir: Path = Field(default_factory=default_seeds_dir)
    collection: str = Field(default="byline", min_length=3, max_length=63)
    chroma_host: str | None = Field(default=None, validation_alias=_alias("chroma_host", "CHROMA_HOST"))
    chroma_port: int = Field(default=8000, validation_alias=_alias("chroma_port", "CHROMA_PORT"))
    chroma_ssl: bool = False
    store_lock_timeout_s: float = 30.0
    chroma_timeout_s: float = Field(
        default=15.0,
        gt=0,
        description="Per-request timeout for the Chroma server (connect, read, write); past it: 503.",
    )

    # --- ingestion -----------------------------------------------------------------
    chunk_size: int = Field(default=160, ge=32, le=2048)
    chunk_overlap: int = Field(default=32, ge=0, le=512)
    max_file_bytes: int = Field(default=10_000_000, ge=1)

    # --- embeddings ----------------------------------------------------------------
    embed_backend: EmbedBackend = "onnx"
    embed_batch_size: int = Field(default=32, ge=1, le=1024)
    embed_threads: int = Field(default_factory=lambda: os.cpu_count() or 1, ge=1)
    openai_embed_model: str = "text-embedding-3-small"

    # --- retrieval and context -----------------------------------------------------
    top_k: int = Field(default=6, ge=1, le=50)
    candidates: int = Field(default=24, ge=1, le=500)
    max_chunks_per_article: int = Field(default=2, ge=1)
    rerank_pool: int = Field(
        default=20,
        ge=1,
        le=200,
        description="Chunks whose sentences are scored against a question; the top_k whose best "
        "sentence scores highest are the answer's hits, and its context is chosen from all of them.",
    )
    context_token_budget: int = Field(default=160, ge=64, le=8000)
    context_max_passages: int = Field(default=5, ge=1, le=20)
    min_relevance: float = Field(
        default=0.30, description="Below this best question-passage cosine, abstain."
    )
    extractive_min_score: float = Field(
        default=0.5, description="The extractive backend abstains below this sentence score."
    )
    quote_min_score: float = Field(
        default=0.8,
        description="An LLM answer that did not hold up (or lacks what was asked) is replaced by a quote "
        "of the best source sentence when that scores at least this (context score); else: abstain.",
    )

    # --- generation ----------------------------------------------------------------
    llm_backend: LLMBackend = "auto"
    openai_api_key: SecretStr | None = Field(
        default=None, validation_alias=_alias("openai_api_key", "OPENAI_API_KEY")
    )
    openai_base_url: str | None = Field(
        default=None, validation_alias=_alias("openai_base_url", "OPENAI_BASE_URL")
    )
    openai_model: str = Field(default="gpt-4o-mini", validation_alias=_alias("openai_model", "OPENAI_MODEL"))
    llm_timeout_s: float = Field(default=60.0, gt=0)
    llm_max_retries: int = Field(default=1, ge=0, le=5)
    # Answers are 1-3 sentences: on the gold set's dev split the local model's drafts had a
    # median of ≈35 tokens and a 95th percentile of ≈85; the few longer ones went on quoting
    # or repeating their sources after the answer. A draft cut here loses its unfinished
    # last sentence (`complete_sentences`).
    max_answer_tokens: int = Field(default=100, ge=16, le=2048)
    insist_after_abstain: bool = Field(
        default=False,
        description="When an LLM replies that the sources don't answer, ask once more, pressing for the "
        "answer (the prompt's end changes, so a local model re-reads only those words); the verifier and "
        "abstention policy then judge that answer like any other. Off by default: with the local model, "
        "on the dev split's 63 first refusals (2026-12-02) it gave 3 more right answers of 42, but "
        "pressed on a false premise it answers inside it ('what's changed since they last met in "
        "2017' got a list of changes), and it answers unanswerable questions with related facts the "
        "verifier cannot tell from an answer (3 of the test split's 12 in an earlier measurement).",
    )
    local_model_path: Path | None = Field(
        default=None, description="Any GGUF file; default: the pinned Qwen2.5 1.5B parts."
    )
    local_n_ctx: int = Field(default=4096, ge=512)
    local_threads: int = Field(default_factory=lambda: os.cpu_count() or 1, ge=1)

    @model_validator(mode="after")
    def _check(self) -> Settings:
        if self.chunk_overlap >= self.chunk_size:
            raise ValueError("chunk_overlap must be smaller than chunk_size")
        return self

    # --- derived -------------------------------------------------------------------
    @property
    def chroma_path(self) -> Path:
        return self.data_dir / "chroma"

    @property
    def models_dir(self) -> Path:
        return self.data_dir / "models"

    @property
    def resolved_llm_backend(self) -> ResolvedLLMBackend:
        if self.llm_backend != "auto":
            return self.llm_backend
        return "openai" if self.openai_api_key or self.openai_base_url else "local"

    # --- LLM circuit breaker -------------------------------------------------------
    llm_breaker_failures: int = Field(
        default=5,
        ge=0,
        description="Consecutive LLM upstream failures that open the circuit breaker; 0 = no breaker.",
    )
    llm_breaker_cooldown_s: float = Field(
        default=30.0, gt=0, description="While open, LLM calls fail fast (answers are extractive) this long."
    )
