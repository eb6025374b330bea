"""Schemathesis' engine against the published OpenAPI schema, in process, as an outside
client runs it (`schemathesis run --checks all` with the admin key): shared by the quick
contract test (tests/test_service_api.py) and the long fuzz run (test_reliability_fuzz_api)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI

from service.main import create_app
from support.app import ADMIN, fresh_copy, make_settings, wait_until_ready

AS_ADMIN = {"Authorization": f"Bearer {ADMIN}"}

# Rules the published schema states in words (its descriptions) that JSON Schema has no
# keyword for: "the last item", "not before another field", what a file holds. A
# schema-valid request that breaks one is refused with 422 (a file of an unsupported type:
# 422 or 415) saying so, which schemathesis reports as "schema-valid request rejected";
# only these refusals (matched by the words of the problem) are excused. Any other is a
# contract failure.
RULES_IN_WORDS: dict[str, tuple[str, ...]] = {
    "POST /v1/ask": ("date_from is after date_to",),
    "POST /v1/search": ("date_from is after date_to",),
    "POST /v1/chat/completions": ("the last message must be the user's question",),
    # An upload's type (by its name's suffix, listed in the schema) and whether it holds
    # text: only the parser can tell.
    "POST /v1/documents": (
        "fix the file and upload it again",
        "the upload has no file name",
        "upload one of .htm .html",  # 415: a file type the loader does not read
    ),
}
QUICK_SEED = 14  # the quick run is the same every time; the large one (fuzz_api) varies


class SchemathesisRun:
    """What one run of schemathesis' engine saw: the cases, their statuses, the contract
    failures (one line per kind, with a curl to reproduce it) and what was excused."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.cases = 0
        self.statuses: dict[int, int] = {}
        self.fuzzed: dict[str, int] = {}  # "POST /v1/ask [NEGATIVE]" → cases in the fuzzing phase
        self.failures: dict[str, str] = {}
        self.failed_cases = 0
        self.excused: dict[str, int] = {}
        self.not_problems: list[str] = []
        self.errors: list[str] = []

    def summary(self) -> str:
        return (
            f"seed {self.seed}: {self.cases} cases, statuses {dict(sorted(self.statuses.items()))}, "
            f"{self.failed_cases} failed checks, excused (rules in words) {self.excused}"
        )

    def record(self, phase: str, recorder: Any) -> None:
        for case_id, node in recorder.cases.items():
            self.cases += 1
            operation = node.value.operation.label
            meta = node.value.meta
            if phase == "fuzzing" and meta is not None:
                key = f"{operation} [{meta.generation.mode.name}]"
                self.fuzzed[key] = self.fuzzed.get(key, 0) + 1
            interaction = recorder.interactions.get(case_id)
            response = interaction.response if interaction is not None else None
            if response is not None:
                self.statuses[response.status_code] = self.statuses.get(response.status_code, 0) + 1
                value = response.headers.get("content-type") or [""]
                content_type = value[0] if isinstance(value, list) else str(value)
                if response.status_code >= 400 and not content_type.startswith("application/problem+json"):
                    self.not_problems.append(f"{operation}: {response.status_code} {content_type}")
            for check in recorder.checks.get(case_id, []):
                if check.failure_info is None:
                    if check.status.name == "ERROR":
                        self.errors.append(f"{operation}: check {check.name} errored")
                    continue
                failure = check.failure_info.failure
                self.failed_cases += 1
                self.failures.setdefault(
                    f"[{phase}] {operation}: {failure.title} ({check.name})",
                    f"{failure.message}\n{check.failure_info.code_sample}",
                )

    def keeps(self, failure: Any, case: Any, response: Any) -> bool:
        """schemathesis' `filter_failure` hook: False drops a failure — a refusal by a rule in
        words — before the engine counts it (it would stop fuzzing the operation)."""
        operation = case.operation.label
        if "positive_data_acceptance" in failure.checks and response.status_code in (415, 422):
            problem = response.content.decode("utf-8", errors="replace")
            if any(rule in problem for rule in RULES_IN_WORDS.get(operation, ())):
                self.excused[operation] = self.excused.get(operation, 0) + 1
                return False
        return True

    def assert_clean(self) -> None:
        """No contract failure, no 5xx, every error a problem+json, the run complete."""
        failures = [f"{title}\n{detail}" for title, detail in itertools.islice(self.failures.items(), 10)]
        assert not failures, self.summary() + "\n\n" + "\n\n".join(failures)
        assert not [s for s in self.statuses if s >= 500], self.summary()
        assert not self.not_problems, (self.summary(), self.not_problems[:20])
        assert not self.errors, (self.summary(), self.errors[:20])


def run_schemathesis(app: FastAPI, *, max_examples: int, seed: int) -> SchemathesisRun:
    """What `schemathesis run --checks all -H "Authorization: Bearer <admin key>"` does,
    in process through ASGI: every phase (examples; coverage — boundaries, wrong types,
    undeclared methods; fuzzing, valid and invalid; stateful links between operations) and
    every check schemathesis has."""
    schemathesis = pytest.importorskip("schemathesis")
    from schemathesis.config import SchemathesisConfig
    from schemathesis.engine import events

    config = SchemathesisConfig(seed=seed)
    project = config.projects.override
    project.update(headers=AS_ADMIN, workers=1)
    project.checks.update(included_check_names=["all"])
    project.generation.update(max_examples=max_examples)
    # The schema as published, fetched the way a client would.
    schema = schemathesis.openapi.from_asgi("/openapi.json", app, config=config)
    run = SchemathesisRun(seed)
    schema.hook("filter_failure")(lambda _context, failure, case, response: run.keeps(failure, case, response))
    for event in schemathesis.engine.from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            run.record(str(event.phase), event.recorder)
        elif isinstance(event, events.NonFatalError):
            run.errors.append(f"{event.label}: {event.value!r}")
        elif isinstance(event, events.FatalError):
            run.errors.append(f"fatal: {event.exception!r}")
        elif isinstance(event, events.EngineFinished):
            for failure in event.failures:
                run.failures.setdefault(f"after the run: {failure.title}", failure.message)
            if event.stop_reason.name != "COMPLETED":
                run.errors.append(f"the run stopped early: {event.stop_reason}")
    return run


@pytest.fixture
def fuzz_app(seeded_dir: Path, tmp_path: Path) -> Iterator[FastAPI]:
    """The app as its operator runs it (an admin key, so the documents API is fuzzed too),
    no rate limit, its lifespan run by schemathesis' own ASGI client — the one its engine
    sends the cases through — ready before the first case."""
    asgi = pytest.importorskip("schemathesis.python.asgi")

    data = fresh_copy(seeded_dir, tmp_path / "fuzz")
    app = create_app(make_settings(data, admin_keys=ADMIN, rate_limit_per_minute=0, max_file_bytes=20_000))
    with asgi.get_client(app) as session:
        wait_until_ready(session)
        yield app
    asgi.shutdown_lifespans()


