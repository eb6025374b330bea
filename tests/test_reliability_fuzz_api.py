"""Schemathesis at scale: the published OpenAPI schema as the contract, checked the way
`schemathesis run --checks all` checks it — every phase (examples; coverage: boundaries,
wrong types, undeclared methods; fuzzing, valid and invalid; stateful links between
operations) and every check — against the real app (lifespan, pipeline on the extractive
backend, embedded Chroma on tmp_path) as a client with the admin key: no 5xx, no
undocumented status or media type, every response as documented, wrong types refused,
schema-valid input accepted (but for the rules the schema states in words), every error
an `application/problem+json`.

The quick run (10 examples per operation, a fixed seed) is in test_service_api.py; this
one uses the same runner and app fixture (tests/support/contract.py) with `BYLINE_FUZZ_EXAMPLES` fuzzing cases per
operation (default 250, valid and invalid together; ≥2,000 cases in all with the other
phases) and a seed of its own each run (`BYLINE_FUZZ_SEED` replays one; a failure names
its seed). It counts the cases actually sent, so a schema or generator change that
silently shrinks the run fails here.
"""

from __future__ import annotations

import os
import random

import pytest
from fastapi import FastAPI
from support.contract import run_schemathesis

DEFAULT_EXAMPLES = 250
# Seeds vary the total: 2,361–4,018 cases measured over eight seeds at the default; a run
# that falls far under that (a schema or generator change that silently shrinks it) fails.
MIN_CASES_AT_DEFAULT = 2000
# The engine shares each operation's examples between valid and invalid input, so an
# operation's floor is well under its share; under it, the operation went quiet. A DELETE
# is fuzzed with the ids that exist (each deleted once), not with thousands of 404s: it
# only has to be reached.
MIN_FUZZED_PER_OPERATION = 10


def _env_int(name: str) -> int | None:
    raw = os.environ.get(name, "")
    return int(raw) if raw.strip() else None


# Read at import: conftest's autouse `_isolated_env` clears every BYLINE_* variable
# before a test body runs.
MAX_EXAMPLES = _env_int("BYLINE_FUZZ_EXAMPLES") or DEFAULT_EXAMPLES
SEED = _env_int("BYLINE_FUZZ_SEED")


@pytest.mark.slow
def test_fuzz_thousands_of_cases_the_contract_holds(fuzz_app: FastAPI) -> None:
    """Every phase and check, `BYLINE_FUZZ_EXAMPLES` fuzzing cases per operation: a clean
    run, as many cases as promised, and no operation that went quiet."""
    seed = SEED if SEED is not None else random.randrange(1 << 31)
    run = run_schemathesis(fuzz_app, max_examples=MAX_EXAMPLES, seed=seed)
    run.assert_clean()
    if MAX_EXAMPLES >= DEFAULT_EXAMPLES:
        assert run.cases >= MIN_CASES_AT_DEFAULT, run.summary()
    # Operations with nothing to vary (probes, the model list) have one distinct case.
    fixed = {
        f"{method.upper()} {path}"
        for path, ops in fuzz_app.openapi()["paths"].items()
        for method, op in ops.items()
        if not (op.get("parameters") or op.get("requestBody"))
    }
    fuzzed: dict[str, int] = {}
    for label, n in run.fuzzed.items():
        operation = label.split(" [")[0]
        fuzzed[operation] = fuzzed.get(operation, 0) + n
    operations = {f"{m.upper()} {p}" for p, ops in fuzz_app.openapi()["paths"].items() for m in ops}
    quiet = {
        op: fuzzed.get(op, 0)
        for op in operations - fixed
        if fuzzed.get(op, 0) < (1 if op.startswith("DELETE ") else min(MIN_FUZZED_PER_OPERATION, MAX_EXAMPLES))
    }
    assert not quiet, f"{run.summary()}; too few fuzzing cases: {quiet}"
    # Both modes reached the operations that take a body: invalid input was sent too.
    for operation in ("POST /v1/ask", "POST /v1/search", "POST /v1/chat/completions", "POST /v1/documents"):
        assert run.fuzzed.get(f"{operation} [NEGATIVE]", 0) > 0, (operation, run.summary())
        assert run.fuzzed.get(f"{operation} [POSITIVE]", 0) > 0, (operation, run.summary())
