"""Schemathesis at scale: every operation of the published OpenAPI schema, valid and
invalid inputs, thousands of cases against the real app (lifespan, pipeline on the
extractive backend, embedded Chroma on tmp_path) — and not one server error.

The quick run of the same idea (10 cases per operation and mode) is in
test_service_api.py; this one reuses its app fixture and runs `BYLINE_FUZZ_EXAMPLES`
cases per operation and mode (default 150, ≥2,000 in all). It counts the cases actually
sent, so a schema or generator change that silently shrinks the run fails here.
"""

from __future__ import annotations

import itertools
import os
from collections import Counter
from typing import Any

import pytest
from fastapi import FastAPI
from test_service_api import fuzz_app as fuzz_app  # noqa: F401  (fixtures, used by name)
from test_service_api import seeded_dir as seeded_dir  # noqa: F401

DEFAULT_EXAMPLES = 150
MIN_CASES_AT_DEFAULT = 2000


def examples_per_operation() -> int:
    raw = os.environ.get("BYLINE_FUZZ_EXAMPLES", "")
    return int(raw) if raw.strip() else DEFAULT_EXAMPLES


# Read at import: conftest's autouse `_isolated_env` clears every BYLINE_* variable
# before a test body runs.
MAX_EXAMPLES = examples_per_operation()


@pytest.mark.slow
def test_fuzz_thousands_of_cases_no_server_errors(fuzz_app: tuple[FastAPI, Any]) -> None:  # noqa: F811
    """Every operation × {positive, negative} generation, `BYLINE_FUZZ_EXAMPLES` each: never
    a 5xx, and every error an `application/problem+json` body."""
    schemathesis = pytest.importorskip("schemathesis")
    from hypothesis import HealthCheck, given
    from hypothesis import settings as hypothesis_settings
    from hypothesis.errors import Unsatisfiable
    from schemathesis.checks import not_a_server_error

    app, session = fuzz_app
    max_examples = MAX_EXAMPLES
    schema = schemathesis.openapi.from_dict(app.openapi())
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 11
    statuses: Counter[int] = Counter()
    per_run: dict[str, int] = {}
    not_problems: list[str] = []

    def run_case(case: Any, label: str) -> None:
        response = case.call_and_validate(
            base_url="http://testserver", session=session, checks=[not_a_server_error]
        )
        per_run[label] += 1
        statuses[response.status_code] += 1
        value = response.headers.get("content-type", "")  # schemathesis: a list of values
        content_type = value[0] if isinstance(value, list) and value else str(value or "")
        if response.status_code >= 400 and not content_type.startswith("application/problem+json"):
            not_problems.append(f"{label}: {response.status_code} {content_type} {response.text[:200]}")

    def make_check(strategy: Any, label: str) -> Any:
        @given(case=strategy)
        @hypothesis_settings(
            max_examples=max_examples, deadline=None, database=None, suppress_health_check=list(HealthCheck)
        )
        def check(case: Any) -> None:
            run_case(case, label)

        return check

    for operation, generation_mode in itertools.product(operations, schemathesis.GenerationMode):
        label = f"{operation.label} [{generation_mode.name}]"
        per_run[label] = 0
        check = make_check(operation.as_strategy(generation_mode=generation_mode), label)
        try:
            check()
        except Unsatisfiable:  # no invalid input exists for an operation without inputs
            assert generation_mode.name == "NEGATIVE" and operation.method.upper() == "GET", label

    total = sum(per_run.values())
    summary = f"{total} cases, statuses {dict(sorted(statuses.items()))}"
    assert not [s for s in statuses if s >= 500], summary
    assert not not_problems, "\n".join(not_problems[:20])
    if max_examples >= DEFAULT_EXAMPLES:
        assert total >= MIN_CASES_AT_DEFAULT, f"{summary}; per operation and mode: {per_run}"
    # Each operation with inputs got (nearly) its share in both modes: none went quiet.
    # (Operations with nothing to vary — probes, the model list — have one distinct valid
    # case and no invalid one.)
    fixed = {
        f"{method.upper()} {path}"
        for path, ops in app.openapi()["paths"].items()
        for method, op in ops.items()
        if not (op.get("parameters") or op.get("requestBody"))
    }
    thin = {k: n for k, n in per_run.items() if n < max_examples // 2 and k.split(" [")[0] not in fixed}
    assert not thin, f"{summary}; too few cases: {thin}"
