"""Helpers the test modules share, so each piece of scaffolding is written once.

Test modules import from here, never from each other (fixtures live in conftest.py):

- `environment`: which variables of the developer's shell must not reach a test or a
  server it starts, and a clean environment for subprocesses;
- `net`: a free loopback port, and a threaded HTTP server on one;
- `serve`: `byline serve` (or another server) as a subprocess: started, waited for,
  its log kept, stopped;
- `llm`: a scripted OpenAI-compatible chat server, its script per instance;
- `app`: the real ASGI app in process (settings, a seeded store, readiness);
- `pipelines`: a seeded in-process pipeline, and settings for one on the scripted LLM;
- `netguard`: the socket guard that refuses non-loopback traffic, and `unshare -n`;
- `chunks`: a retrieved chunk made from text, for the stages after retrieval.
"""
