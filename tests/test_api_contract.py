"""The published OpenAPI schema is the contract, case by case — what schemathesis with
every check found broken, pinned here one request at a time (the whole-schema runs are
test_service_api.py's quick one and test_reliability_fuzz_api.py's large one):

- a 405's `Allow` lists every method of the path, not only those of the first route;
- wrong JSON types are refused, not coerced: `"yes"` or `1` is no boolean, `"5"` no
  integer, `0` or `"20250101"` no date;
- a body that can't be read — JSON that doesn't parse or isn't UTF-8, a broken multipart
  form — is one status on every route, 422 naming `body` (it was 400 for some, which no
  route documents);
- the schema offers what this server does: the backends it enables; the events a stream
  sends, their data as the components they name;
- rules JSON Schema has no keyword for are stated in words and refused with a 422 that
  names them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from jsonschema import Draft202012Validator
from starlette.testclient import TestClient
from support.app import ADMIN, QUESTION, fresh_copy, make_settings, running
from support.app import seeded_dir as seeded_dir  # noqa: F401  (fixture, used by name)

from service.main import create_app

AS_ADMIN = {"Authorization": f"Bearer {ADMIN}"}
JSON_ROUTES = ("/v1/ask", "/v1/search", "/v1/chat/completions", "/v1/documents")


@pytest.fixture(scope="module")
def client(seeded_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:  # noqa: F811
    data = fresh_copy(seeded_dir, tmp_path_factory.mktemp("contract") / "data")
    with running(create_app(make_settings(data, admin_keys=ADMIN))) as c:
        yield c


def problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    return body


def fields(body: dict[str, Any]) -> set[str]:
    return {e["field"] for e in body.get("errors") or []}


# --- 405 ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("OPTIONS", "/v1/documents", "GET, POST"),  # two routes: GET and POST
        ("PUT", "/v1/documents/some-id", "DELETE, GET"),
        ("PATCH", "/v1/ask", "POST"),
        ("POST", "/healthz", "GET"),
    ],
)
def test_405_allow_lists_every_method_of_the_path(
    client: TestClient, method: str, path: str, allow: str
) -> None:
    response = client.request(method, path, headers=AS_ADMIN)
    problem(response, 405)
    assert response.headers["allow"] == allow
    documented = client.get("/openapi.json").json()["paths"]
    template = "/v1/documents/{document_id}" if path.startswith("/v1/documents/") else path
    assert allow == ", ".join(sorted(m.upper() for m in documented[template]))


# --- wrong types ------------------------------------------------------------------------------
CHAT = {"messages": [{"role": "user", "content": QUESTION}]}


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/v1/ask", {"question": QUESTION, "stream": "yes"}, "stream"),
        ("/v1/ask", {"question": QUESTION, "stream": 1}, "stream"),
        ("/v1/ask", {"question": QUESTION, "stream": "true"}, "stream"),
        ("/v1/ask", {"question": QUESTION, "top_k": "5"}, "top_k"),
        ("/v1/ask", {"question": QUESTION, "top_k": True}, "top_k"),
        ("/v1/chat/completions", {**CHAT, "stream": 0}, "stream"),
        (
            "/v1/chat/completions",
            {**CHAT, "stream": True, "stream_options": {"include_usage": 0}},
            "stream_options.include_usage",
        ),
        (
            "/v1/chat/completions",
            {**CHAT, "stream_options": {"include_usage": "yes"}},
            "stream_options.include_usage",
        ),
        ("/v1/search", {"query": "APEC", "filters": {"date_from": 0}}, "filters.date_from"),
        ("/v1/search", {"query": "APEC", "filters": {"date_from": 1761868800}}, "filters.date_from"),
        ("/v1/search", {"query": "APEC", "filters": {"date_from": "1761868800"}}, "filters.date_from"),
        ("/v1/search", {"query": "APEC", "filters": {"date_to": "20251031"}}, "filters.date_to"),
        ("/v1/search", {"query": "APEC", "filters": {"date_to": "last week"}}, "filters.date_to"),
        ("/v1/search", {"query": "APEC", "top_k": 2.5}, "top_k"),
        ("/v1/documents", {"text": "The harbour reopened on Monday.", "date": 0}, "date"),
    ],
)
def test_wrong_types_are_refused_not_coerced(
    client: TestClient, path: str, body: dict[str, Any], field: str
) -> None:
    refused = problem(client.post(path, json=body, headers=AS_ADMIN), 422)
    assert field in fields(refused), refused


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/ask", {"question": QUESTION, "stream": False, "top_k": 3}),
        ("/v1/ask", {"question": QUESTION, "top_k": 3.0}),  # a JSON Schema integer too
        ("/v1/search", {"query": "APEC", "filters": {"date_from": "2025-10-01", "date_to": "2025-12-31"}}),
        ("/v1/chat/completions", {**CHAT, "stream": False, "stream_options": {"include_usage": False}}),
    ],
)
def test_the_right_types_are_accepted(client: TestClient, path: str, body: dict[str, Any]) -> None:
    response = client.post(path, json=body, headers=AS_ADMIN)
    assert response.status_code == 200, response.text


# --- unreadable bodies ----------------------------------------------------------------------
@pytest.mark.parametrize("path", JSON_ROUTES)
@pytest.mark.parametrize("content", [b'{"question": ', b'\xe9"', b"\xff\xfe{\x00}", b"not json"])
def test_an_unreadable_json_body_is_422_on_every_route(client: TestClient, path: str, content: bytes) -> None:
    response = client.post(path, content=content, headers={**AS_ADMIN, "Content-Type": "application/json"})
    body = problem(response, 422)
    assert "JSON" in body["detail"] and fields(body) == {"body"}, body


def test_a_broken_multipart_form_is_422_not_400(client: TestClient) -> None:
    no_boundary = client.post(
        "/v1/documents", content=b"garbage", headers={**AS_ADMIN, "Content-Type": "multipart/form-data"}
    )
    assert fields(problem(no_boundary, 422)) == {"body"}


def test_every_documented_error_status_is_in_the_schema(client: TestClient) -> None:
    """422 is documented wherever a body is read, so the answer above is a documented one."""
    paths = client.get("/openapi.json").json()["paths"]
    for path in JSON_ROUTES:
        assert "422" in paths[path]["post"]["responses"], path
        assert "400" not in paths[path]["post"]["responses"], path


# --- what the schema offers -------------------------------------------------------------------
def test_the_schema_offers_only_the_enabled_backends(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    backend = schema["components"]["schemas"]["AskRequest"]["properties"]["backend"]
    assert backend["anyOf"][0]["enum"] == ["extractive"]
    refused = problem(
        client.post("/v1/ask", json={"question": QUESTION, "backend": "openai"}, headers=AS_ADMIN), 422
    )
    assert "not enabled" in refused["detail"]


def _validator(schema: dict[str, Any], target: dict[str, Any]) -> Draft202012Validator:
    """A validator of `target` that resolves `#/components/...` in the published schema."""
    return Draft202012Validator({**target, "components": schema["components"]})


def _events(text: str) -> list[dict[str, str]]:
    """Server-sent events as schemathesis reads them: `event` (default `message`) and `data`."""
    events = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        if not block.strip():
            continue
        event = {"event": "message"}
        data = []
        for line in block.split("\n"):
            name, _, value = line.partition(":")
            if name == "event":
                event["event"] = value.strip()
            elif name == "data":
                data.append(value.lstrip())
        event["data"] = "\n".join(data)
        events.append(event)
    return events


def test_ask_stream_events_match_the_published_event_schema(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    published = schema["paths"]["/v1/ask"]["post"]["responses"]["200"]["content"]["text/event-stream"][
        "schema"
    ]
    response = client.post("/v1/ask", json={"question": QUESTION, "stream": True}, headers=AS_ADMIN)
    assert response.status_code == 200, response.text
    events = _events(response.text)
    assert [e["event"] for e in events][0] == "citations" and events[-1]["event"] == "done"
    by_name = {branch["properties"]["event"]["const"]: branch for branch in published["oneOf"]}
    for event in events:
        _validator(schema, published).validate(event)
        payload = by_name[event["event"]]["properties"]["data"]["contentSchema"]
        _validator(schema, payload).validate(json.loads(event["data"]))


def test_chat_stream_events_match_the_published_event_schema(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    operation = schema["paths"]["/v1/chat/completions"]["post"]
    published = operation["responses"]["200"]["content"]["text/event-stream"]["schema"]
    response = client.post("/v1/chat/completions", json={**CHAT, "stream": True}, headers=AS_ADMIN)
    assert response.status_code == 200, response.text
    events = _events(response.text)
    assert events[-1]["data"] == "[DONE]"
    for event in events:
        _validator(schema, published).validate(event)


# --- rules in words ---------------------------------------------------------------------------
def test_a_conversation_without_a_users_question_is_outside_the_schema(client: TestClient) -> None:
    """JSON Schema can say "some message is a user's, with text" (`contains`), not "the last
    one is": the description says the rest, and the route refuses it naming the rule."""
    schema = client.get("/openapi.json").json()
    messages = schema["components"]["schemas"]["ChatCompletionRequest"]["properties"]["messages"]
    assert "must end with the question" in messages["description"]
    request_schema = {"$ref": "#/components/schemas/ChatCompletionRequest"}
    validator = _validator(schema, request_schema)
    no_question = {"messages": [{"role": "system", "content": "Be brief."}, {"role": "tool"}]}
    blank = {"messages": [{"role": "user", "content": "   "}]}
    for body in (no_question, blank):
        assert not validator.is_valid(body), body
        problem(client.post("/v1/chat/completions", json=body, headers=AS_ADMIN), 422)
    ends_with_assistant = {"messages": [*CHAT["messages"], {"role": "assistant", "content": "Busan."}]}
    assert validator.is_valid(ends_with_assistant) and validator.is_valid(CHAT)
    refused = problem(client.post("/v1/chat/completions", json=ends_with_assistant, headers=AS_ADMIN), 422)
    assert "the last message must be the user's question" in refused["detail"]


def test_dates_out_of_order_are_refused_naming_the_rule(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    assert (
        "not before `date_from`"
        in schema["components"]["schemas"]["FiltersIn"]["properties"]["date_to"]["description"]
    )
    body = {"query": "APEC", "filters": {"date_from": "2025-12-01", "date_to": "2025-01-01"}}
    assert (
        "date_from is after date_to"
        in problem(client.post("/v1/search", json=body, headers=AS_ADMIN), 422)["detail"]
    )


def test_blank_text_is_outside_the_schema(client: TestClient) -> None:
    """The published pattern and the validators agree on what is blank, also where JSON
    Schema's regex and Python disagree on what is whitespace (\\x1f, \\x85, U+FEFF)."""
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    pattern = schemas["AskRequest"]["properties"]["question"]["pattern"]
    assert schemas["SearchRequest"]["properties"]["query"]["pattern"] == pattern
    for blank in ("  \n ", "\x1f", "\x85\x1c", "\ufeff", "\u3000\ufeff"):
        assert re.search(pattern, blank) is None, repr(blank)
        refused = problem(client.post("/v1/ask", json={"question": blank}, headers=AS_ADMIN), 422)
        assert fields(refused) == {"question"}
        refused = problem(client.post("/v1/search", json={"query": blank}, headers=AS_ADMIN), 422)
        assert fields(refused) == {"query"}
    assert re.search(pattern, "\x1fWho?") is not None
