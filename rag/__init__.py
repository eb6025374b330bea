"""Byline's retrieval-augmented answering pipeline, one module per stage."""

from rag.offline import apply_offline_env

apply_offline_env()

__version__ = "0.1.0"
