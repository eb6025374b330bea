"""The chat widget end to end in a real headless Chromium (Debian's `/usr/bin/chromium`,
driven by Playwright for Python): a real `byline serve` (uvicorn, extractive backend) on
one port, host pages on two other ports (one origin the public key is bound to, one it
isn't), each page with hostile CSS. Screenshots go to docs/screenshots/ (the README links
them), overwritten on each run."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from support.net import LoopbackHTTPServer, QuietHandler, free_port
from support.serve import BYLINE, ServeProcess

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[1]
SHOTS = ROOT / "docs" / "screenshots"

try:
    from playwright.sync_api import Browser, Page, sync_playwright
except ImportError:  # pragma: no cover - depends on the environment
    sync_playwright = None  # type: ignore[assignment]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(sync_playwright is None, reason="playwright is not installed (pip install -e '.[dev]')"),
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="/usr/bin/chromium is missing (apt-get install chromium; .ci/run does)"
    ),
    pytest.mark.skipif(not BYLINE.exists(), reason="the `byline` console script is not installed"),
]

PUBLIC = "pk_test"
DEMO = "pk_demo"
ADMIN = "admin_test_key"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-proxy-server",
]

# From eval/gold/qa.jsonl (q049): answered from three of the seed articles.
TARIFF_Q = "How large is the additional tariff Trump threatened to put on Chinese goods over rare earth curbs?"
TARIFF_SOURCES = {"000_602e51685fe81370", "001_5f7e776c0ce82901", "002_a70022376a9dca2a"}

HOSTILE_ID = "hostile-harbour-note"
HOSTILE_TITLE = 'Harbour note <img src=x onerror="window.__pwned=3">'
HOSTILE_TEXT = (
    "Harbour authority bulletin. "
    'The bulletin quoted the code <script>window.__pwned=1</script><img src=x onerror="window.__pwned=2"> verbatim. '
    "The Zorvath lighthouse was repainted teal in 1987 by keeper Ilse Marrow. "
    "Visitors may climb the tower on Sundays."
)
LINKED_ID = "quillon-canal"
LINKED_URL = "https://news.example/quillon-canal"

HOSTILE_CSS = """
/* Rules that break widgets living in the page's DOM or inheriting its styles. The page's
   own article (main) is left readable. */
html { font-size: 1px; }
main { font: 18px/1.6 Georgia, "DejaVu Serif", serif; max-width: 680px; margin: 40px auto; padding: 0 24px; color: #222; }
main h1 { font-size: 34px; line-height: 1.15; margin: 0 0 12px; }
main .kicker { font: 600 13px/1 "DejaVu Sans", sans-serif; letter-spacing: .08em; text-transform: uppercase; color: #b00; }
body > :not(main) { all: unset; display: none !important; font-size: 1px; color: red !important; }
byline-chat { display: none !important; position: absolute !important; left: -9999px !important;
              opacity: 0 !important; transform: scale(0) !important; pointer-events: none !important; }
:is(button, textarea, input, dialog, section, div, p, span, h2, h3, mark, a, article, header, form):not(main, main *) {
  all: unset; display: none !important; font-size: 1px !important; }
button { display: none !important; }
* { --a: red; --ai: red; box-sizing: content-box !important; }
"""


def host_page(service_url: str, key: str, extra: str = "") -> str:
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>The Daily Ledger</title><style>{HOSTILE_CSS}</style></head>
<body><main>
<p class="kicker">World · Trade</p>
<h1>Trump and Xi head to APEC with tariffs on the table</h1>
<p>Our reporters follow the run-up to the leaders' meeting in South Korea. Questions about the
coverage? Ask the newsroom assistant: every answer links to the passage it came from.</p>
<p>Beijing's export controls on rare earths and Washington's tariff threats set the tone for the talks,
which both sides expect to cover fentanyl, soybeans and chips.</p>
</main>
<script src="{service_url}/widget.js" data-key="{key}" {extra} defer></script>
</body></html>"""


class _PageHandler(QuietHandler):
    pages: dict[str, str]

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        page = self.pages.get(self.path.split("?")[0])
        self.send_body(200 if page else 404, (page or "not found").encode(), "text/html; charset=utf-8")


def host_site(pages: dict[str, str]) -> LoopbackHTTPServer:
    """A host origin of its own (127.0.0.1 and a port) serving `pages` by path."""
    return LoopbackHTTPServer(type("PageHandler", (_PageHandler,), {"pages": pages}))


@dataclass
class Site:
    """The service and the two host origins the tests use."""

    service: str
    allowed: str
    refused: str


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    tmp = tmp_path_factory.mktemp("widget")
    port = free_port()  # the pages embed the service's URL, and the demo key is bound to it
    service = f"http://127.0.0.1:{port}"
    allowed_pages = {
        "/": host_page(service, PUBLIC, 'data-title="Newsroom assistant" data-accent="#0b6e4f"'),
        "/plain.html": host_page(service, PUBLIC),
    }
    refused_pages = {"/": host_page(service, PUBLIC, 'data-lang="de" data-position="bottom-left" data-open')}
    with host_site(allowed_pages) as allowed, host_site(refused_pages) as refused:
        env = {
            "BYLINE_DATA_DIR": str(tmp / "data"),
            "BYLINE_LLM_BACKEND": "extractive",
            "BYLINE_EMBED_THREADS": "2",
            "BYLINE_ADMIN_KEYS": ADMIN,
            "BYLINE_PUBLIC_KEYS": f"{PUBLIC}@{allowed.origin},{DEMO}@{service}",
            "NO_PROXY": "*",
        }
        with ServeProcess.byline(tmp, env, port=port) as server:
            server.wait_ready(120)
            auth = {"Authorization": f"Bearer {ADMIN}"}
            docs = [
                {"id": HOSTILE_ID, "title": HOSTILE_TITLE, "text": HOSTILE_TEXT, "source": "Harbour <b>Gazette</b>",
                 "url": "javascript:window.__pwned=4", "date": "2025-06-01"},
                {"id": LINKED_ID, "title": "Quillon canal reopens", "source": "Canal Gazette", "date": "2025-05-13",
                 "url": LINKED_URL,
                 "text": "The Quillon canal reopened to barges on 12 May 2025 after a dredging project "
                 "that cost 9 million euros."},
            ]
            with httpx.Client(trust_env=False, timeout=60) as http:
                for doc in docs:
                    added = http.post(f"{service}/v1/documents", json=doc, headers=auth)
                    assert added.status_code == 200, added.text
            yield Site(service=service, allowed=allowed.origin, refused=refused.origin)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert sync_playwright is not None
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1100, "height": 760}, locale="en-US")
    context.set_default_timeout(15_000)
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    yield pg
    context.close()
    assert not errors, errors


def shadow(page: Page, expression: str) -> Any:
    """Evaluates `expression` with `r` = the widget's shadow root."""
    return page.evaluate(f"(() => {{ const r = document.querySelector('byline-chat').shadowRoot; return {expression}; }})()")


def active_class(page: Page) -> str | None:
    value = shadow(page, "r.activeElement ? r.activeElement.className || r.activeElement.tagName : null")
    return str(value) if value is not None else None


def shot(page: Page, name: str) -> None:
    page.screenshot(path=str(SHOTS / name))


def record_asks(page: Page) -> list[dict[str, Any]]:
    bodies: list[dict[str, Any]] = []

    def on_request(request: Any) -> None:
        if request.url.endswith("/v1/ask") and request.method == "POST":
            bodies.append({"body": json.loads(request.post_data or "{}"), "headers": request.headers})

    page.on("request", on_request)
    return bodies


ANSWERS = "document.querySelector('byline-chat').shadowRoot.querySelectorAll('.m.a:not(.live)').length"


def ask(page: Page, question: str, wait: bool = True) -> Any:
    """Types and sends a question; with `wait`, returns the new answer once it is final."""
    before = int(page.evaluate(ANSWERS))
    page.locator("byline-chat textarea").fill(question)
    page.keyboard.press("Enter")
    if wait:
        page.wait_for_function(f"{ANSWERS} > {before}")
    return page.locator("byline-chat .m.a").nth(before)


def reference_answer(site: Site, question: str) -> dict[str, Any]:
    with httpx.Client(trust_env=False, timeout=60) as http:
        r = http.post(f"{site.service}/v1/ask", json={"question": question},
                      headers={"Authorization": f"Bearer {ADMIN}"})
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


# --- the tests ---------------------------------------------------------------------------------
def test_widget_asks_streams_and_shows_a_cited_source(site: Site, page: Page) -> None:
    asks = record_asks(page)
    page.goto(site.allowed + "/")
    launcher = page.locator("byline-chat .launch")
    launcher.wait_for(state="visible")
    box = launcher.bounding_box()
    assert box and box["width"] == 56 and box["x"] > 900, box  # hostile CSS didn't hide or move it
    # The widget added one element and no styles to the host page.
    assert page.evaluate("document.querySelectorAll('style, link[rel=stylesheet]').length") == 1
    assert page.evaluate("document.body.children.length") == 3  # main, script, byline-chat
    assert page.evaluate("getComputedStyle(document.querySelector('main h1')).fontSize") == "34px"
    shot(page, "widget-closed.png")

    launcher.click()
    panel = page.locator("byline-chat [role=dialog]")
    panel.wait_for(state="visible")
    assert panel.get_attribute("aria-modal") == "true"
    assert page.locator("byline-chat h2").inner_text() == "Newsroom assistant"  # data-title
    assert active_class(page) == "TEXTAREA"  # focus moved into the panel

    # Record every text the draft shows while the answer streams in.
    shadow(page, """(() => { window.__drafts = []; new MutationObserver(() => {
        const t = r.querySelector('.live .t'); if (t) window.__drafts.push(t.textContent); })
        .observe(r, {subtree: true, childList: true, characterData: true}); })()""")
    answer = ask(page, TARIFF_Q)
    assert "100%" in answer.locator(".t").inner_text()
    drafts = page.evaluate("window.__drafts")
    assert any("100%" in d for d in drafts), drafts  # the draft streamed in before `done` replaced it
    assert asks[0]["body"] == {"question": TARIFF_Q, "history": [], "stream": True}
    assert asks[0]["headers"]["authorization"] == f"Bearer {PUBLIC}"
    assert shadow(page, "r.querySelector('[role=log]').getAttribute('aria-live')") == "polite"
    shot(page, "widget-answer.png")

    expected = reference_answer(site, TARIFF_Q)
    first = expected["citations"][0]
    assert first["article_id"] in TARIFF_SOURCES
    answer.locator(".cite").first.click()
    card = answer.locator(".src")
    card.wait_for()
    assert card.locator("h3").inner_text() == first["title"]
    assert card.locator("mark").inner_text() == first["quote"]
    assert answer.locator(".cite").first.get_attribute("aria-expanded") == "true"
    shot(page, "widget-citation.png")

    # A follow-up sends the earlier turns as history (markers stripped).
    ask(page, "When would it start?")
    history = asks[1]["body"]["history"]
    assert [t["role"] for t in history] == ["user", "assistant"]
    assert history[0]["content"] == TARIFF_Q and "100%" in history[1]["content"] and "[1]" not in history[1]["content"]


def test_abstention_and_conflicts_render_differently(site: Site, page: Page) -> None:
    page.goto(site.allowed + "/plain.html")
    page.locator("byline-chat .launch").click()
    abstained = ask(page, "What is the capital of Peru?")
    assert "ab" in (abstained.get_attribute("class") or "").split()
    assert abstained.locator(".tag").inner_text().strip().lower() == "not in the articles"
    assert "don't say" in abstained.locator(".t").inner_text()

    conflict = ask(page, "Who is the Chinese foreign ministry spokesperson?").locator(".cf").first
    cards = conflict.locator(".pair .src")
    assert cards.count() == 2
    left, right = cards.nth(0).bounding_box(), cards.nth(1).bounding_box()
    assert left and right and abs(left["y"] - right["y"]) < 2 and right["x"] > left["x"] + left["width"] - 1  # side by side
    values = [cards.nth(i).locator(".val").inner_text() for i in range(2)]
    marks = [cards.nth(i).locator("mark").inner_text() for i in range(2)]
    assert values == marks and values[0] != values[1]
    conflict.scroll_into_view_if_needed()
    shot(page, "widget-conflict.png")


def test_hostile_article_is_shown_as_text(site: Site, page: Page) -> None:
    page.goto(site.allowed + "/plain.html")
    page.locator("byline-chat .launch").click()
    answer = ask(page, "What colour was the Zorvath lighthouse repainted?")
    assert "teal" in answer.locator(".t").inner_text()
    answer.locator(".cite").first.click()
    card = answer.locator(".src")
    card.wait_for()
    assert card.locator("h3").inner_text() == HOSTILE_TITLE  # the markup shows as text
    assert "Harbour <b>Gazette</b>" in card.locator(".meta").inner_text()
    assert card.locator("a").count() == 0  # a javascript: url is not a link
    # The passage around the quote holds the injected markup: visible as text, inert.
    second = ask(page, "What code did the harbour bulletin quote verbatim?")
    second.locator(".cite").first.click()
    quoted = second.locator(".src blockquote")
    quoted.wait_for()
    assert "<script>window.__pwned=1</script>" in quoted.inner_text()
    page.wait_for_timeout(300)  # an onerror handler would have fired by now
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert shadow(page, "r.querySelectorAll('script, img, b').length") == 0


def test_link_opens_safely_in_a_new_tab(site: Site, page: Page) -> None:
    page.goto(site.allowed + "/plain.html")
    page.locator("byline-chat .launch").click()
    answer = ask(page, "How much did the Quillon canal dredging cost?")
    answer.locator(".cite").first.click()
    link = answer.locator(".src a")
    assert link.get_attribute("href") == LINKED_URL
    assert link.get_attribute("target") == "_blank"
    assert link.get_attribute("rel") == "noopener noreferrer"
    assert "Canal Gazette" in answer.locator(".src .meta").inner_text()


def test_disallowed_origin_is_refused_with_a_readable_message(site: Site, page: Page) -> None:
    refused_calls: list[int] = []
    page.on("response", lambda r: refused_calls.append(r.status) if "/widget/check" in r.url else None)
    page.goto(site.refused + "/")
    # data-open, data-lang="de", data-position="bottom-left"
    panel = page.locator("byline-chat [role=dialog]")
    panel.wait_for(state="visible")
    assert page.locator("byline-chat .launch").bounding_box()["x"] < 100  # type: ignore[index]
    ask(page, TARIFF_Q, wait=False)
    error = page.locator("byline-chat .err")
    error.wait_for()
    assert "darf den Chat nicht nutzen" in error.inner_text()
    assert error.get_attribute("role") == "alert"
    assert error.locator("button").inner_text() == "Erneut versuchen"
    assert refused_calls == [403]
    # The service itself refuses the key from this origin (403), whatever the browser does.
    with httpx.Client(trust_env=False, timeout=30) as http:
        direct = http.post(f"{site.service}/v1/ask", json={"question": TARIFF_Q},
                           headers={"Authorization": f"Bearer {PUBLIC}", "Origin": site.refused})
    assert direct.status_code == 403 and site.refused in direct.json()["detail"]


def test_error_messages_and_retry(site: Site, page: Page) -> None:
    page.goto(site.allowed + "/plain.html")
    page.locator("byline-chat .launch").click()
    cors = {"Access-Control-Allow-Origin": site.allowed, "Access-Control-Expose-Headers": "Retry-After"}
    problem = {"type": "about:blank", "title": "x", "status": 429, "detail": "slow down"}

    page.route("**/v1/ask", lambda route: route.fulfill(
        status=429, headers={**cors, "Retry-After": "7"}, content_type="application/problem+json",
        body=json.dumps(problem)))
    ask(page, TARIFF_Q, wait=False)
    error = page.locator("byline-chat .err")
    error.wait_for()
    assert "Try again in 7 s" in error.inner_text()

    page.unroute("**/v1/ask")
    page.route("**/v1/ask", lambda route: route.fulfill(
        status=503, headers={**cors, "Retry-After": "2"}, content_type="application/problem+json",
        body=json.dumps({**problem, "status": 503})))
    error.locator("button").click()  # retry: same question, now busy
    page.locator("byline-chat .err").wait_for()
    assert "busy" in page.locator("byline-chat .err").inner_text()

    page.unroute("**/v1/ask")
    page.context.set_offline(True)
    page.locator("byline-chat .err button").click()
    page.wait_for_function("document.querySelector('byline-chat').shadowRoot.querySelector('.err')?.textContent.includes('offline')")

    page.context.set_offline(False)
    page.locator("byline-chat .err button").click()
    page.wait_for_function(f"{ANSWERS} == 1")
    answer = page.locator("byline-chat .m.a").first
    assert "100%" in answer.inner_text()
    assert page.locator("byline-chat .err").count() == 0
    assert page.locator("byline-chat .m.q").count() == 1  # retries didn't repeat the question


def test_stop_button_aborts_the_stream(site: Site, page: Page) -> None:
    page.goto(site.allowed + "/plain.html")
    page.locator("byline-chat .launch").click()
    # Hold the answer back so there is something to stop.
    page.route("**/v1/ask", lambda _route: None)
    ask(page, TARIFF_Q, wait=False)
    stop = page.locator("byline-chat .stop")
    stop.wait_for(state="visible")
    stop.click()
    page.locator("byline-chat .note").wait_for()
    assert page.locator("byline-chat .note").inner_text() == "Stopped."
    assert page.locator("byline-chat .go").is_visible() and not stop.is_visible()


def test_keyboard_focus_trap_and_escape(site: Site, page: Page) -> None:
    page.goto(site.allowed + "/plain.html")
    launcher = page.locator("byline-chat .launch")
    launcher.focus()
    page.keyboard.press("Enter")
    page.locator("byline-chat [role=dialog]").wait_for(state="visible")
    assert active_class(page) == "TEXTAREA"
    seen = set()
    for _ in range(6):  # Tab cycles inside the panel: close, textarea, send
        page.keyboard.press("Tab")
        focused = active_class(page)
        assert focused and shadow(page, "r.querySelector('[role=dialog]').contains(r.activeElement)"), focused
        seen.add(focused)
    assert seen == {"ib", "TEXTAREA", "go"}
    page.keyboard.press("Shift+Tab")
    assert shadow(page, "r.querySelector('[role=dialog]').contains(r.activeElement)")
    # Visible focus ring.
    assert shadow(page, "getComputedStyle(r.activeElement).outlineStyle") != "none"
    page.keyboard.press("Escape")
    page.locator("byline-chat [role=dialog]").wait_for(state="hidden")
    assert active_class(page) == "launch"
    assert launcher.get_attribute("aria-expanded") == "false"
    assert launcher.get_attribute("aria-label")


def test_phone_width_is_full_screen(site: Site, browser: Browser) -> None:
    context = browser.new_context(viewport={"width": 375, "height": 740}, device_scale_factor=2,
                                  is_mobile=True, has_touch=True, locale="en-US")
    try:
        pg = context.new_page()
        pg.goto(site.allowed + "/")
        pg.locator("byline-chat .launch").click()
        panel = pg.locator("byline-chat [role=dialog]")
        panel.wait_for(state="visible")
        panel.evaluate("e => Promise.all(e.getAnimations().map(a => a.finished))")  # the slide-in
        box = panel.bounding_box()
        assert box and {k: round(v) for k, v in box.items()} == {"x": 0, "y": 0, "width": 375, "height": 740}
        answer = ask(pg, "Where will Trump and Xi meet?")
        answer.locator(".cite").first.click()
        answer.locator(".src").wait_for()
        pg.screenshot(path=str(SHOTS / "widget-phone.png"))
        pg.keyboard.press("Escape")
        pg.locator("byline-chat .launch").wait_for(state="visible")
    finally:
        context.close()


def test_demo_page_shows_the_snippet_and_a_live_widget(site: Site, page: Page) -> None:
    page.goto(site.service + "/")
    snippet = page.locator("pre code").inner_text()
    assert snippet == f'<script src="{site.service}/widget.js" data-key="{DEMO}" defer></script>'
    page.locator("byline-chat .launch").click()
    assert ask(page, "Where will Trump and Xi meet?").locator(".cite").count() >= 1

