"""The environment a test, and every process it starts, runs in.

A developer's shell may export settings that would point tests at real services (an
OpenAI key, a Chroma server, a proxy) or change Byline's behaviour (any BYLINE_*). Tests
and the servers they start must see none of them, whatever the machine."""

from __future__ import annotations

import os
from collections.abc import Mapping

# Variables a developer's shell may export that would point tests at real services.
MACHINE_SETTINGS = frozenset(
    {
        "OPENAI_API_KEY",
        "OPENAI_BASE_URL",
        "OPENAI_MODEL",
        "CHROMA_HOST",
        "CHROMA_PORT",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
    }
)


def is_machine_setting(name: str) -> bool:
    """True for a variable that must not leak from the machine into a test."""
    return name.startswith("BYLINE_") or name in MACHINE_SETTINGS


def isolated_environ(overrides: Mapping[str, str] | None = None) -> dict[str, str]:
    """This process's environment without the machine's settings, with Chroma's telemetry
    off, plus `overrides`. Built from os.environ at call time: module-scoped fixtures run
    before conftest's per-test isolation, so they can't rely on it."""
    clean = {name: value for name, value in os.environ.items() if not is_machine_setting(name)}
    return {**clean, "ANONYMIZED_TELEMETRY": "False", **(overrides or {})}
