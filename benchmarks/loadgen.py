"""A closed-loop HTTP load generator for a running `byline serve`, run as its own process
(so the client's CPU and GC never hide inside the server's numbers):

    python -m benchmarks.loadgen --url http://127.0.0.1:8000 --path /v1/search \\
        --concurrency 8 --duration 20 --warmup 2 --questions eval/gold/qa.jsonl --json-out out.json
    python -m benchmarks.loadgen --url http://127.0.0.1:8000 --concurrency 16 --duration 300 \\
        --mix 'search=0.5,ask=0.4,ingest=0.1' --header 'Authorization: Bearer KEY' --json-out out.json

N clients share one keep-alive `httpx.AsyncClient` (HTTP/1.1, a pool of N connections);
each sends its next request as soon as the previous one is answered, for `--duration`
seconds after `--warmup` seconds whose requests are reported apart. Each client draws its
requests (kind, question) from its own `random.Random` seeded from `--seed`, so two runs
send the same sequences; a generated article is a function of its id and version. Only
what an ingest does once `--max-new-articles` exist depends on timing. A `timeline` of
`--interval`-second buckets shows drift over a long run.

Errors are split the way the service promises to fail: 429/503 *with* a `Retry-After`
header are back-pressure by design; anything else that isn't 2xx — other statuses, a 429/503
without Retry-After, connection errors, timeouts — is unexpected.

`--mix` interleaves `POST /v1/search`, `POST /v1/ask` (extractive backend by default) and
`POST /v1/documents`: a generated article with a fresh id; or (`--repost-fraction`) an
identical re-post of one of the client's own articles, which must come back `unchanged`;
or (`--update-fraction`, and every ingest once `--max-new-articles` exist, which bounds the
store) a new version of one, which must come back `updated`. Only a client touches its own
articles, so each article's final content is known. The generated articles are synthetic
sports results and forecasts for invented towns, with a vocabulary that shares no content
term with the gold questions. The ids created are listed in the result, with what the
server answered to each kind of ingest; `--articles-out` writes each one's final body.

Importable: `await run_load(...)` returns the same dict that `--json-out` writes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import platform
import random
import re
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import httpx

Kind = Literal["search", "ask", "ingest", "custom"]
KINDS: tuple[Kind, ...] = ("search", "ask", "ingest")
BY_DESIGN_STATUSES = (429, 503)
MAX_SAMPLES = 20

# --- synthetic articles -------------------------------------------------------------------
# Invented towns, teams and people; no weekday or month names, no politics or trade words,
# and no word the gold questions use (tests/test_reliability_soak.py checks that).
_TOWNS = (
    "Brindlemoor", "Quarrowick", "Feldhaven", "Ostrick", "Pellworth", "Marrowby",
    "Tollcaster", "Wexbridge", "Hollinsgate", "Caddersby", "Frennick", "Lowdrummond",
)  # fmt: skip
_TEAMS = ("Rovers", "Harriers", "Wanderers", "Comets", "Falcons", "Otters", "Badgers", "Kestrels")
_PEOPLE = (
    "Ilvo Tarsk", "Menna Drobe", "Kasimir Vell", "Orla Quenby", "Teodor Plisk", "Yselde Marrin",
    "Bram Okonkwe", "Liesel Fenwright", "Dario Stulpe", "Ffion Carrack", "Anouk Brisby", "Pim Tolvane",
)  # fmt: skip
_GROUNDS = ("Millrace Park", "Heronfield", "Copperlane Fields", "Saltmarsh Arena", "Ferrybank Oval")
_SPORTS_TITLES = (
    "{home} {home_team} edge {away} {away_team}",
    "{away} {away_team} stun {home} in {goals}-goal thriller",
    "{home_team} and {away_team} draw at {ground}",
)
_SPORTS_LINES = (
    "{home} {home_team} beat {away} {away_team} {h} to {a} at {ground}.",
    "{player} scored a brace, with a curling free kick into the far corner.",
    "The opposing goalkeeper {player2} saved a penalty seconds prior to halftime.",
    "A crowd of {crowd} thousand fans cheered the match in steady drizzle.",
    "Coach {coach} praised the midfield harrying and insisted the squad remained hungry.",
    "The {away_team} defence wobbled whenever wingers raced along the flank.",
    "Substitute {player2} clipped the crossbar with a looping header in stoppage.",
    "The referee booked {n} players in a scrappy, bruising contest.",
    "Supporters sang loudly behind the goal and unfurled a giant green banner.",
    "{home_team} climb to {ordinal} position in the county league table.",
    "Groundstaff forked the soggy pitch at the interval to keep the ball rolling.",
    "{player} hobbled, nursing a hamstring strain, and awaits a fitness test.",
)
_FORECAST_TITLES = (
    "{town} forecast: drizzle and gusts",
    "Frost and fog for {town} valleys",
    "Sunshine bathes {town} coast",
)
_FORECAST_LINES = (
    "Forecasters in {town} foresee light drizzle with gusts near {wind} knots.",
    "Daytime warmth will reach {temp} degrees Celsius, with frost probable overnight in sheltered hollows.",
    "Fog will linger along the river till noon, then a gentle breeze disperses it.",
    "Farmers around {town} cheered the rainfall following a dry spell that parched the orchards.",
    "Humidity remains oppressive, and a sudden thunderstorm can rattle the hills by dusk.",
    "Sailors skirting the {town} headland must beware of choppy swells and sudden squalls.",
    "Pollen levels climb as sunshine warms the meadows; hay fever sufferers beware.",
    "Snow is improbable, although sleet can dust the upper moors around {town}.",
    "Cyclists can enjoy calm lanes, with barely a ripple of wind across the fens.",
    "The {town} observatory logged {rain} millimetres of rain, slightly above normal.",
    "Overnight lows dip to {low} degrees; gardeners ought to shield tender seedlings.",
    "A rainbow arched above the {town} estuary as showers drifted eastward.",
)
_ORDINALS = ("second", "third", "fifth", "sixth", "seventh", "eighth", "ninth")
# Twenty small numbers, none a gold question uses ("December 10", "20 per cent").
_NUMBERS = tuple(str(n) for n in range(0, 22) if n not in (10, 20))


def synthetic_vocabulary() -> str:
    """Every word a generated article can contain (to check it against other texts)."""
    parts = [
        *_TOWNS, *_TEAMS, *_PEOPLE, *_GROUNDS, *_SPORTS_TITLES, *_SPORTS_LINES, *_FORECAST_TITLES,
        *_FORECAST_LINES, *_ORDINALS, *_NUMBERS, "Synthetic Sports Wire", "Synthetic Forecast Desk",
    ]  # fmt: skip
    return re.sub(r"\{\w+\}", " ", " ".join(parts))


def synthetic_article(article_id: str, version: int = 0) -> dict[str, str]:
    """A small sports result or forecast (a documents-API JSON body), 6–12 sentences; a
    pure function of id and version, so the same pair always means the same article."""
    rng = random.Random(f"{article_id}:{version}")
    values = {
        "home": rng.choice(_TOWNS),
        "away": rng.choice(_TOWNS),
        "town": rng.choice(_TOWNS),
        "home_team": rng.choice(_TEAMS),
        "away_team": rng.choice(_TEAMS),
        "ground": rng.choice(_GROUNDS),
        "player": rng.choice(_PEOPLE),
        "player2": rng.choice(_PEOPLE),
        "coach": rng.choice(_PEOPLE),
        "h": rng.choice(_NUMBERS[:7]),
        "a": rng.choice(_NUMBERS[:7]),
        "goals": rng.choice(_NUMBERS[5:12]),
        "crowd": rng.choice(_NUMBERS[2:20]),
        "n": rng.choice(_NUMBERS[3:10]),
        "ordinal": rng.choice(_ORDINALS),
        "wind": rng.choice(_NUMBERS[10:20]),
        "temp": rng.choice(_NUMBERS[5:19]),
        "rain": rng.choice(_NUMBERS[1:19]),
        "low": rng.choice(_NUMBERS[0:9]),
    }
    sports = rng.random() < 0.5
    titles, lines = (_SPORTS_TITLES, _SPORTS_LINES) if sports else (_FORECAST_TITLES, _FORECAST_LINES)
    sentences = [line.format(**values) for line in rng.sample(lines, rng.randint(6, len(lines)))]
    paragraphs = [" ".join(sentences[i : i + 3]) for i in range(0, len(sentences), 3)]
    return {
        "id": article_id,
        "title": rng.choice(titles).format(**values),
        "text": "\n\n".join(paragraphs),
        "source": "Synthetic Sports Wire" if sports else "Synthetic Forecast Desk",
    }


# --- bodies ---------------------------------------------------------------------------------


def load_questions(path: Path) -> list[str]:
    """`question` of each JSON line (a gold file), or whole lines of a plain text file."""
    questions = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            questions.append(line.strip())
            continue
        if isinstance(row, dict) and isinstance(row.get("question"), str):
            questions.append(row["question"])
        elif isinstance(row, str):
            questions.append(row)
    if not questions:
        raise ValueError(f"{path}: no questions")
    return questions


def load_bodies(path: Path) -> list[Any]:
    """One JSON request body per line, sent as is."""
    bodies = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if not bodies:
        raise ValueError(f"{path}: no bodies")
    return bodies


def body_for_path(path: str, question: str, ask_backend: str | None) -> dict[str, Any]:
    """The request body a question becomes on one of the service's routes."""
    if path.rstrip("/").endswith("/search"):
        return {"query": question}
    if path.rstrip("/").endswith("/chat/completions"):
        return {"model": "byline", "messages": [{"role": "user", "content": question}]}
    body: dict[str, Any] = {"question": question}
    if ask_backend:
        body["backend"] = ask_backend
    return body


def parse_mix(spec: str) -> dict[Kind, float]:
    """`search=0.5,ask=0.4,ingest=0.1` → normalised weights."""
    weights: dict[Kind, float] = {}
    for part in spec.split(","):
        if not part.strip():
            continue
        name, _, value = part.partition("=")
        name = name.strip()
        if name not in KINDS:
            raise ValueError(f"unknown kind {name!r} in --mix; use {', '.join(KINDS)}")
        weight = float(value)
        if weight < 0 or not math.isfinite(weight):
            raise ValueError(f"bad weight {value!r} for {name}")
        weights[name] = weight
    total = sum(weights.values())
    if total <= 0:
        raise ValueError("--mix needs at least one positive weight")
    return {k: w / total for k, w in weights.items() if w > 0}


def parse_header(spec: str) -> tuple[str, str]:
    name, sep, value = spec.partition(":")
    if not sep or not name.strip():
        raise ValueError(f"bad --header {spec!r}; use 'Name: value'")
    return name.strip(), value.strip()


# --- measurement ----------------------------------------------------------------------------


def percentile(ordered: Sequence[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default); NaN when empty."""
    if not ordered:
        return math.nan
    pos = q * (len(ordered) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


@dataclass
class Stats:
    latencies_ms: list[float] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)
    by_design: int = 0
    unexpected: int = 0
    retry_after: dict[str, Counter[str]] = field(default_factory=dict)
    samples: list[dict[str, Any]] = field(default_factory=list)

    def record(
        self,
        kind: str,
        latency_ms: float,
        status: int | None,
        retry_after: str | None,
        error: str | None,
        detail: str,
    ) -> bool:
        """Counts one request; True when it was a by-design rejection."""
        self.latencies_ms.append(latency_ms)
        label = str(status) if status is not None else error or "error"
        self.statuses[label] += 1
        by_design = False
        if status in BY_DESIGN_STATUSES:
            present = retry_after is not None and retry_after.strip() != ""
            counter = self.retry_after.setdefault(str(status), Counter())
            counter["with_retry_after" if present else "without_retry_after"] += 1
            by_design = present
        ok = status is not None and 200 <= status < 300
        if by_design:
            self.by_design += 1
        elif not ok:
            self.unexpected += 1
            if len(self.samples) < MAX_SAMPLES:
                self.samples.append({"kind": kind, "status": label, "detail": detail[:300]})
        return by_design

    def summary(self, elapsed_s: float | None = None) -> dict[str, Any]:
        ordered = sorted(self.latencies_ms)
        n = len(ordered)

        def r(x: float) -> float | None:
            return None if math.isnan(x) else round(x, 2)

        out: dict[str, Any] = {
            "requests": n,
            "latency_ms": {
                "p50": r(percentile(ordered, 0.50)),
                "p95": r(percentile(ordered, 0.95)),
                "p99": r(percentile(ordered, 0.99)),
                "max": r(ordered[-1]) if ordered else None,
                "mean": r(sum(ordered) / n) if n else None,
            },
            "status_codes": dict(sorted(self.statuses.items())),
            "errors": {
                "by_design": self.by_design,
                "unexpected": self.unexpected,
                "retry_after": {s: dict(c) for s, c in sorted(self.retry_after.items())},
                "unexpected_samples": list(self.samples),
            },
        }
        if elapsed_s is not None:
            out["requests_per_s"] = round(n / elapsed_s, 2) if elapsed_s > 0 else None
        return out


@dataclass
class _Run:
    """State shared by the clients of one run (single event loop: no locks needed)."""

    measure_from: float
    stop_at: float
    total: Stats = field(default_factory=Stats)
    warmup: Stats = field(default_factory=Stats)
    per_kind: dict[str, Stats] = field(default_factory=dict)
    created: list[str] = field(default_factory=list)
    uncertain: list[str] = field(default_factory=list)
    posted: dict[str, dict[str, str]] = field(default_factory=dict)  # the last acknowledged body
    outcomes: dict[str, Counter[str]] = field(
        default_factory=lambda: {"new": Counter(), "repost": Counter(), "update": Counter()}
    )
    new_posts: int = 0
    last_done: float = 0.0
    events: list[tuple[float, float, bool]] = field(default_factory=list)  # (started, ms, 2xx)

    def timeline(self, interval_s: float) -> list[dict[str, Any]]:
        """Per bucket of the measured window (by start time): requests, rate, p50/p95, non-2xx."""
        buckets: dict[int, list[tuple[float, bool]]] = {}
        for started, ms, ok in self.events:
            buckets.setdefault(int((started - self.measure_from) // interval_s), []).append((ms, ok))
        out = []
        for b in sorted(buckets):
            ordered = sorted(ms for ms, _ in buckets[b])
            out.append(
                {
                    "t_s": round(b * interval_s, 3),
                    "requests": len(ordered),
                    "requests_per_s": round(len(ordered) / interval_s, 2),
                    "p50_ms": round(percentile(ordered, 0.5), 2),
                    "p95_ms": round(percentile(ordered, 0.95), 2),
                    "non_2xx": sum(1 for _, ok in buckets[b] if not ok),
                }
            )
        return out


# --- the clients ----------------------------------------------------------------------------


@dataclass
class _Plan:
    path: str
    mix: dict[Kind, float] | None
    questions: list[str]
    bodies: list[Any] | None
    ask_backend: str | None
    id_prefix: str
    repost_fraction: float
    update_fraction: float
    max_new_articles: int | None
    honor_retry_after: float


def _retry_after_s(value: str | None) -> float:
    try:
        return max(0.0, float(value)) if value else 0.0
    except ValueError:
        return 0.0


def _outcome(article_id: str, payload: dict[str, Any]) -> str:
    return next((k for k in ("added", "updated", "unchanged") if article_id in payload.get(k, [])), "other")


async def _client(index: int, http: httpx.AsyncClient, plan: _Plan, run: _Run, seed: int) -> None:
    # Two streams: what is asked (kind, question) never depends on timing; what an ingest
    # does (new, re-post, update) depends on how many articles exist so far.
    rng = random.Random(f"{seed}:{index}")
    ingest_rng = random.Random(f"{seed}:{index}:ingest")
    kinds = list(plan.mix) if plan.mix else []
    weights = [plan.mix[k] for k in kinds] if plan.mix else []
    # This client's articles and their current version. Only the owner re-posts or updates
    # an article, so every operation on one id is sequential and its final state is known.
    own: dict[str, int] = {}
    n = 0
    while time.monotonic() < run.stop_at:
        kind: Kind = rng.choices(kinds, weights)[0] if plan.mix else "custom"
        article_id: str | None = None
        action = ""
        version = 0
        if kind == "search":
            path, body = "/v1/search", body_for_path("/v1/search", rng.choice(plan.questions), None)
        elif kind == "ask":
            path, body = "/v1/ask", body_for_path("/v1/ask", rng.choice(plan.questions), plan.ask_backend)
        elif kind == "ingest":
            path = "/v1/documents"
            r = ingest_rng.random()
            capped = plan.max_new_articles is not None and run.new_posts >= plan.max_new_articles
            if own and r < plan.repost_fraction:
                action, article_id = "repost", ingest_rng.choice(sorted(own))
                version = own[article_id]
            elif own and (capped or r < plan.repost_fraction + plan.update_fraction):
                action, article_id = "update", ingest_rng.choice(sorted(own))
                version = own[article_id] + 1
            else:
                action, article_id = "new", f"{plan.id_prefix}-{index:03d}-{n:06d}"
                run.new_posts += 1
            body = synthetic_article(article_id, version)
        elif plan.bodies is not None:
            path, body = plan.path, rng.choice(plan.bodies)
        else:
            path, body = plan.path, body_for_path(plan.path, rng.choice(plan.questions), plan.ask_backend)
        n += 1

        started = time.monotonic()
        status: int | None = None
        retry_after: str | None = None
        error: str | None = None
        detail = ""
        payload: Any = None
        try:
            response = await http.post(path, json=body)
            status = response.status_code
            retry_after = response.headers.get("retry-after")
            if 200 <= status < 300:
                payload = response.json() if kind == "ingest" else None
            else:
                detail = response.text
        except httpx.HTTPError as exc:
            error = type(exc).__name__
            detail = str(exc) or error
        except ValueError as exc:  # a 2xx whose JSON doesn't parse
            error = "InvalidJSON"
            detail = str(exc)
        done = time.monotonic()
        run.last_done = max(run.last_done, done)
        latency_ms = (done - started) * 1000.0

        if error == "InvalidJSON":
            status = None
        in_window = started >= run.measure_from
        stats = run.total if in_window else run.warmup
        by_design = stats.record(kind, latency_ms, status, retry_after, error, detail)
        if in_window:
            run.events.append((started, latency_ms, status is not None and 200 <= status < 300))
            run.per_kind.setdefault(kind, Stats()).record(
                kind, latency_ms, status, retry_after, error, detail
            )

        if article_id is not None:
            ok = status is not None and 200 <= status < 300 and isinstance(payload, dict)
            if ok:
                run.outcomes[action][_outcome(article_id, payload)] += 1
                if action == "new":
                    run.created.append(article_id)
                own[article_id] = version
                run.posted[article_id] = body
            elif status is None or status >= 500:
                # The server may or may not have stored it: its final state is unknown.
                run.outcomes[action]["failed"] += 1
                run.uncertain.append(article_id)
                own.pop(article_id, None)
            else:
                run.outcomes[action]["rejected"] += 1  # a 4xx: nothing was stored
        if by_design and plan.honor_retry_after > 0:
            await asyncio.sleep(min(_retry_after_s(retry_after), plan.honor_retry_after))


async def run_load(
    url: str,
    *,
    path: str = "/v1/search",
    concurrency: int = 8,
    duration_s: float = 20.0,
    warmup_s: float = 0.0,
    questions: Sequence[str] | None = None,
    bodies: Sequence[Any] | None = None,
    headers: dict[str, str] | None = None,
    mix: dict[Kind, float] | str | None = None,
    ask_backend: str | None = "extractive",
    seed: int = 0,
    timeout_s: float = 60.0,
    id_prefix: str | None = None,
    repost_fraction: float = 0.2,
    update_fraction: float = 0.0,
    max_new_articles: int | None = None,
    honor_retry_after: float = 0.0,
    articles_out: Path | None = None,
    interval_s: float = 10.0,
) -> dict[str, Any]:
    """Runs `concurrency` closed-loop clients against `url` and returns the measurements.

    `questions` feed search/ask bodies; `bodies` (single-path mode) are posted as is.
    `honor_retry_after` > 0: after a by-design rejection a client sleeps Retry-After
    seconds, at most that long (a polite client); 0 sends the next request at once.
    Ingests (mix mode): a new article, or (`repost_fraction`) an identical re-post of one of
    the client's own articles, which must come back `unchanged`, or (`update_fraction`, and
    every ingest once `max_new_articles` exist) a new version of one, which must come back
    `updated`; `result["ingest"]["outcomes"]` counts what the server said for each.
    `articles_out`: JSON lines, the last acknowledged body of each article created.
    `interval_s`: bucket width of the result's `timeline`.
    """
    if concurrency < 1:
        raise ValueError("concurrency must be at least 1")
    if duration_s <= 0 or warmup_s < 0 or interval_s <= 0:
        raise ValueError("duration and interval must be > 0, warmup >= 0")
    mix_weights = parse_mix(mix) if isinstance(mix, str) else mix
    if bodies is None and not questions and (mix_weights is None or set(mix_weights) - {"ingest"}):
        raise ValueError("give questions (or bodies for a single path)")
    plan = _Plan(
        path=path,
        mix=mix_weights,
        questions=list(questions or []),
        bodies=list(bodies) if bodies is not None else None,
        ask_backend=ask_backend,
        id_prefix=id_prefix or f"loadgen-{seed}",
        repost_fraction=repost_fraction,
        update_fraction=update_fraction,
        max_new_articles=max_new_articles,
        honor_retry_after=honor_retry_after,
    )
    limits = httpx.Limits(
        max_connections=concurrency, max_keepalive_connections=concurrency, keepalive_expiry=30.0
    )
    started_wall = time.time()
    async with httpx.AsyncClient(
        base_url=url.rstrip("/"),
        headers=headers or {},
        limits=limits,
        timeout=httpx.Timeout(timeout_s, connect=min(timeout_s, 10.0), pool=timeout_s),
        http1=True,
        http2=False,
        trust_env=False,
    ) as http:
        t0 = time.monotonic()
        run = _Run(measure_from=t0 + warmup_s, stop_at=t0 + warmup_s + duration_s)
        await asyncio.gather(*(_client(i, http, plan, run, seed) for i in range(concurrency)))
    elapsed = max(run.last_done, run.stop_at) - run.measure_from
    result: dict[str, Any] = {
        "url": url,
        "mode": "mix" if mix_weights else "single",
        "path": None if mix_weights else path,
        "mix": mix_weights,
        "concurrency": concurrency,
        "duration_s": duration_s,
        "warmup_s": warmup_s,
        "seed": seed,
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started_wall)),
        "elapsed_s": round(elapsed, 3),
        "client": {"python": platform.python_version(), "httpx": httpx.__version__, "http": "HTTP/1.1"},
        **run.total.summary(elapsed),
        "warmup": run.warmup.summary(),
        "timeline": run.timeline(interval_s),
    }
    if mix_weights:
        result["per_kind"] = {k: run.per_kind[k].summary(elapsed) for k in KINDS if k in run.per_kind}
        result["ingest"] = {
            "created": list(run.created),
            "uncertain": sorted(set(run.uncertain)),
            "outcomes": {action: dict(sorted(c.items())) for action, c in run.outcomes.items()},
        }
    if articles_out is not None:
        with articles_out.open("w", encoding="utf-8") as f:
            f.writelines(json.dumps(run.posted[a]) + "\n" for a in run.created if a in run.posted)
    return result


# --- command line ---------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m benchmarks.loadgen", description=__doc__.split("\n\n")[0])
    p.add_argument("--url", required=True, help="the service, e.g. http://127.0.0.1:8000")
    p.add_argument("--path", default="/v1/search", help="route for single-path mode (default /v1/search)")
    p.add_argument("--concurrency", type=int, default=8, help="closed-loop clients (default 8)")
    p.add_argument("--duration", type=float, default=20.0, help="measured seconds (default 20)")
    p.add_argument("--warmup", type=float, default=0.0, help="seconds before measuring (reported apart)")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--body-file", type=Path, help="JSON lines: request bodies posted as is to --path")
    src.add_argument(
        "--questions", type=Path, help="gold-style JSON lines with `question` (default gold set)"
    )
    p.add_argument("--header", action="append", default=[], help="'Name: value', repeatable")
    p.add_argument("--mix", help="e.g. 'search=0.5,ask=0.4,ingest=0.1' (ignores --path)")
    p.add_argument(
        "--ask-backend", default="extractive", help="`backend` of ask bodies ('' = server default)"
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--timeout", type=float, default=60.0, help="per-request seconds (default 60)")
    p.add_argument("--id-prefix", help="prefix of generated article ids (default loadgen-SEED)")
    p.add_argument(
        "--repost-fraction", type=float, default=0.2, help="ingests that re-post an earlier article"
    )
    p.add_argument(
        "--update-fraction", type=float, default=0.0, help="ingests that post a new version of one"
    )
    p.add_argument(
        "--max-new-articles", type=int, help="then every ingest re-posts or updates (bounds the store)"
    )
    p.add_argument(
        "--honor-retry-after", type=float, default=0.0, metavar="MAX_S",
        help="sleep Retry-After (at most MAX_S) after a 429/503; default 0 = don't",
    )  # fmt: skip
    p.add_argument("--interval", type=float, default=10.0, help="timeline bucket seconds (default 10)")
    p.add_argument("--json-out", type=Path, help="write the result here (default: stdout)")
    p.add_argument("--articles-out", type=Path, help="JSON lines: the body of each article created")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        headers = dict(parse_header(h) for h in args.header)
        bodies = load_bodies(args.body_file) if args.body_file else None
        questions = None
        if bodies is None:
            default = Path(__file__).resolve().parents[1] / "eval" / "gold" / "qa.jsonl"
            questions = load_questions(args.questions or default)
        result = asyncio.run(
            run_load(
                args.url,
                path=args.path,
                concurrency=args.concurrency,
                duration_s=args.duration,
                warmup_s=args.warmup,
                questions=questions,
                bodies=bodies,
                headers=headers,
                mix=args.mix,
                ask_backend=args.ask_backend or None,
                seed=args.seed,
                timeout_s=args.timeout,
                id_prefix=args.id_prefix,
                repost_fraction=args.repost_fraction,
                update_fraction=args.update_fraction,
                max_new_articles=args.max_new_articles,
                honor_retry_after=args.honor_retry_after,
                articles_out=args.articles_out,
                interval_s=args.interval,
            )
        )
    except (OSError, ValueError) as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 2
    text = json.dumps(result, indent=2)
    if args.json_out:
        args.json_out.write_text(text + "\n", encoding="utf-8")
    else:
        sys.stdout.write(text + "\n")
    lat = result["latency_ms"]
    err = result["errors"]
    sys.stderr.write(
        f"{result['requests']} requests in {result['elapsed_s']:.1f}s = {result['requests_per_s']} req/s; "
        f"p50 {lat['p50']} ms, p95 {lat['p95']} ms, p99 {lat['p99']} ms, max {lat['max']} ms; "
        f"statuses {result['status_codes']}; by design {err['by_design']}, unexpected {err['unexpected']}"
        f" (+{result['warmup']['errors']['unexpected']} in warm-up)\n"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
