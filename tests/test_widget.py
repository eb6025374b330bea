"""The widget's server side, in-process (no browser, no pipeline: these routes don't need
one): how /widget.js is served, the demo page, the origin check, the CORS preflight the
widget's fetch makes, and static checks on the script itself (size, no HTML sinks)."""

from __future__ import annotations

import gzip
import re
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from service.config import ServiceSettings
from service.main import create_app
from service.routes.widget import WIDGET_PATH

SITE = "https://news.example"
PUBLIC = "pk_site"
ADMIN = "admin-key"
MAX_GZIP_BYTES = 15 * 1024


def make_client(tmp_path: Path, **overrides: Any) -> TestClient:
    settings = ServiceSettings(_env_file=None, data_dir=tmp_path / "data", llm_backend="extractive", **overrides)  # type: ignore[call-arg]
    return TestClient(create_app(settings))  # no `with`: the pipeline never loads


@pytest.fixture
def keyed(tmp_path: Path) -> TestClient:
    return make_client(
        tmp_path, admin_keys=ADMIN, public_keys=f"{PUBLIC}@{SITE},pk_demo@http://testserver,pk_unbound"
    )


def test_widget_js_is_served_compressed_and_cacheable(keyed: TestClient) -> None:
    source = WIDGET_PATH.read_bytes()
    r = keyed.get("/widget.js", headers={"Accept-Encoding": "gzip"})
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/javascript; charset=utf-8"
    assert r.headers["content-encoding"] == "gzip" and "Accept-Encoding" in r.headers["vary"]
    assert r.content == source  # httpx decompressed it
    assert "max-age=" in r.headers["cache-control"] and r.headers["cache-control"].startswith("public")
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["cross-origin-resource-policy"] == "cross-origin"

    plain = keyed.get("/widget.js", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers and plain.content == source

    again = keyed.get("/widget.js", headers={"If-None-Match": r.headers["etag"]})
    assert again.status_code == 304 and not again.content


def test_widget_is_small_and_never_parses_data_as_html() -> None:
    source = WIDGET_PATH.read_text()
    size = len(gzip.compress(source.encode(), 9))
    assert size < MAX_GZIP_BYTES, f"widget.js is {size} bytes gzipped"
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function", "srcdoc"):
        assert sink not in source, sink
    assert "attachShadow" in source and "customElements.define" in source
    assert not re.search(r"https?://(?!www\.w3\.org/2000/svg|HOST)", source), "no CDN or other hosts"


def test_demo_page_shows_the_snippet_for_this_host(keyed: TestClient, tmp_path: Path) -> None:
    page = keyed.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    snippet = '&lt;script src=&quot;http://testserver/widget.js&quot; data-key=&quot;pk_demo&quot; defer&gt;&lt;/script&gt;'
    assert snippet in page.text
    assert '<script src="http://testserver/widget.js" data-key="pk_demo" defer></script>' in page.text
    assert "pk_unbound" not in page.text and PUBLIC not in page.text and ADMIN not in page.text

    open_page = make_client(tmp_path / "open").get("/")
    assert "data-key=&quot;PUBLIC_KEY&quot;" in open_page.text


def test_origin_check_lets_the_widget_explain_a_refusal(keyed: TestClient, tmp_path: Path) -> None:
    ok = keyed.get("/widget/check", params={"key": PUBLIC}, headers={"Origin": SITE})
    assert ok.status_code == 200 and ok.json() == {"allowed": True}
    refused = keyed.get("/widget/check", params={"key": PUBLIC}, headers={"Origin": "https://evil.example"})
    assert refused.status_code == 403 and "evil.example" in refused.json()["detail"]
    assert refused.headers["access-control-allow-origin"] == "*"  # readable from the refused page
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert keyed.get("/widget/check", params={"key": "nope"}, headers={"Origin": SITE}).status_code == 401
    assert keyed.get("/widget/check", headers={"Origin": SITE}).status_code == 401
    assert make_client(tmp_path / "open").get("/widget/check").json() == {"allowed": True}


def test_cors_preflight_for_the_widgets_fetch(keyed: TestClient) -> None:
    """Exactly what Chromium sends before the widget's POST: Authorization + Content-Type."""
    preflight = keyed.options(
        "/v1/ask",
        headers={
            "Origin": SITE,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == SITE
    allowed = {h.strip().lower() for h in preflight.headers["access-control-allow-headers"].split(",")}
    assert {"authorization", "content-type"} <= allowed

    # Not ready yet (no pipeline here): a 503 the widget can read, Retry-After included.
    busy = keyed.post("/v1/ask", json={"question": "Where?", "stream": True},
                      headers={"Authorization": f"Bearer {PUBLIC}", "Origin": SITE})
    assert busy.status_code == 503 and busy.headers["access-control-allow-origin"] == SITE
    assert "retry-after" in busy.headers["access-control-expose-headers"].lower() and busy.headers["retry-after"]

    refused = keyed.options(
        "/v1/ask",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "authorization,content-type"},
    )
    assert refused.status_code >= 400 and "access-control-allow-origin" not in refused.headers

    # The service refuses the key from another origin even when a non-browser sends it.
    direct = keyed.post("/v1/ask", json={"question": "Where?"},
                        headers={"Authorization": f"Bearer {PUBLIC}", "Origin": "https://evil.example"})
    assert direct.status_code == 403
