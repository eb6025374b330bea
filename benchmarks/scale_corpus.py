"""A deterministic corpus of news-like articles at any size, for plotting cost against size.

Why synthetic: five seed articles say nothing about 100k chunks, and shipping real news at
that size is neither small nor licensable. The generator aims at what matters to the
pipeline's cost: varied article lengths (so chunk counts vary), dates over two years,
a dozen outlets, a large vocabulary of named entities and numbers (BM25's postings grow
like real ones), and the two things real feeds do that stress idempotent ingestion —
near-duplicates (the same wire story from another outlet, lightly edited) and updates
(a later version of an earlier story with a paragraph added).

The stream is a pure function of (seed, article index): a corpus of 10k chunks is a
prefix of the 100k one, which lets the largest size reuse the real embeddings computed for
the smaller one (see `benchmarks.scale`).

    python -m benchmarks.scale_corpus --chunks 1000 --out /tmp/corpus-1k
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rag.config import Settings

OUTLETS = [
    "Harbor Times",
    "Northern Ledger",
    "Capital Wire",
    "Daily Meridian",
    "Coastal Herald",
    "Metro Dispatch",
    "Valley Gazette",
    "Continental Post",
    "Pacific Observer",
    "Union Tribune",
    "Granite Chronicle",
    "Evening Courier",
]
FIRST = [
    "Amara",
    "Bjorn",
    "Chen",
    "Dalia",
    "Emeka",
    "Farah",
    "Goran",
    "Hana",
    "Ivan",
    "Jun",
    "Kofi",
    "Lena",
    "Mateo",
    "Nadia",
    "Omar",
    "Priya",
    "Quentin",
    "Rosa",
    "Sven",
    "Tariq",
    "Uma",
    "Viktor",
    "Wen",
    "Ximena",
    "Yusuf",
    "Zofia",
    "Aiko",
    "Bruno",
    "Carmen",
    "Dmitri",
]
LAST = [
    "Okafor",
    "Lindqvist",
    "Wei",
    "Haddad",
    "Nwosu",
    "Rahman",
    "Petrovic",
    "Sato",
    "Kuznetsov",
    "Park",
    "Mensah",
    "Fischer",
    "Alvarez",
    "Karimi",
    "Farouk",
    "Iyer",
    "Dubois",
    "Moreno",
    "Berg",
    "Aziz",
    "Tanaka",
    "Novak",
    "Zhou",
    "Castillo",
    "Demir",
    "Kowalski",
    "Nakamura",
    "Rossi",
    "Oyelaran",
    "Varga",
    "Mbeki",
    "Hoffmann",
    "Quispe",
    "Lund",
    "Santos",
    "Ito",
]
ROLES = [
    "finance minister",
    "trade representative",
    "chief executive",
    "central bank governor",
    "mayor",
    "energy secretary",
    "opposition leader",
    "union chair",
    "health minister",
    "chief economist",
    "foreign minister",
    "police commissioner",
    "coach",
    "spokesperson",
]
CITIES = [
    "Lisbon",
    "Nairobi",
    "Osaka",
    "Valparaiso",
    "Gdansk",
    "Tbilisi",
    "Hanoi",
    "Accra",
    "Porto",
    "Busan",
    "Tallinn",
    "Cebu",
    "Marrakesh",
    "Quito",
    "Riga",
    "Surabaya",
    "Lyon",
    "Medan",
    "Tashkent",
    "Bergen",
    "Cordoba",
    "Durban",
    "Kraków",
    "Penang",
]
ORGS = [
    "the port authority",
    "the national grid operator",
    "the statistics office",
    "the central bank",
    "the transport ministry",
    "the football federation",
    "the weather service",
    "the chip makers' association",
    "the farmers' union",
    "the competition regulator",
    "the shipping alliance",
    "the health agency",
    "the electoral commission",
    "the stock exchange",
    "the teachers' union",
    "the space agency",
]
TOPICS: dict[str, dict[str, list[str]]] = {
    "trade": {
        "things": [
            "tariffs",
            "export quotas",
            "soybean shipments",
            "steel duties",
            "customs checks",
            "rare earth licences",
        ],
        "verbs": ["cut", "raised", "suspended", "extended", "reviewed", "eased"],
        "heads": ["Trade talks", "Tariff truce", "Export deal", "Customs row", "Shipping accord"],
    },
    "energy": {
        "things": [
            "fuel prices",
            "wind farms",
            "gas reserves",
            "power tariffs",
            "grid upgrades",
            "solar subsidies",
        ],
        "verbs": ["approved", "delayed", "expanded", "capped", "financed", "scrapped"],
        "heads": ["Grid plan", "Fuel price cap", "Wind tender", "Gas storage", "Solar scheme"],
    },
    "sports": {
        "things": [
            "the league final",
            "ticket sales",
            "the transfer window",
            "stadium repairs",
            "the cup draw",
            "training camps",
        ],
        "verbs": ["won", "postponed", "moved", "sold out", "opened", "renewed"],
        "heads": ["Cup final", "Derby result", "Transfer saga", "Stadium vote", "Title race"],
    },
    "weather": {
        "things": [
            "flood defences",
            "the heatwave",
            "storm warnings",
            "river levels",
            "crop losses",
            "snowfall",
        ],
        "verbs": ["eased", "worsened", "broke records", "hit", "spared", "threatened"],
        "heads": ["Storm warning", "Heat record", "Flood alert", "Cold snap", "Drought update"],
    },
    "politics": {
        "things": [
            "the coalition talks",
            "the budget vote",
            "the election date",
            "the cabinet reshuffle",
            "the referendum",
            "the reform bill",
        ],
        "verbs": ["collapsed", "passed", "stalled", "resumed", "split", "confirmed"],
        "heads": ["Coalition deal", "Budget vote", "Snap election", "Cabinet shake-up", "Reform bill"],
    },
    "tech": {
        "things": [
            "chip exports",
            "data centres",
            "the satellite launch",
            "broadband rollout",
            "the app ban",
            "battery plants",
        ],
        "verbs": ["launched", "paused", "doubled", "licensed", "blocked", "funded"],
        "heads": ["Chip plant", "Satellite launch", "Data centre", "Broadband push", "App ban"],
    },
}
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]

TEMPLATES = [
    "{person}, the {role}, said on {weekday} that {org} had {verb} {thing} in {city}.",
    "Officials in {city} {verb} {thing} after {number} days of talks with {org}.",
    "\u201cWe are not there yet,\u201d {person} told reporters in {city}, "
    "adding that {thing} would be reviewed {when}.",
    "The decision affects about {number} people and {percent} per cent of {thing} in the region.",
    "According to {org}, {thing} {verb} by {percent} per cent compared with the same month last year.",
    "{person} is expected to meet {person2}, the {role2}, in {city2} {when}.",
    "Critics including {person2} argued that {thing} had been {verb} too quickly.",
    "The {outlet} reported that {org} spent {money} on {thing} since {month}.",
    "Analysts said the move by {org} could change how {thing} are handled across {country}.",
    "A statement from {org} on {weekday} put the cost at {money}, higher than first estimated.",
    "Residents of {city} said {thing} had already {verb} before the announcement.",
    "{person} declined to say whether {thing} would be {verb} again before {month}.",
    "The talks in {city} were the {ordinal} round this year, after meetings in {city2} and {city3}.",
    "Figures released {when} showed {number} applications, up from {number2} a year earlier.",
    "{org} said it had {verb} {thing} and would publish a full report on {weekday}.",
    "Earlier, {person2} had warned that {thing} in {country} could be {verb} within {number2} weeks.",
]
COUNTRIES = [
    "Portugal",
    "Kenya",
    "Japan",
    "Chile",
    "Poland",
    "Georgia",
    "Vietnam",
    "Ghana",
    "South Korea",
    "Estonia",
    "the Philippines",
    "Morocco",
    "Ecuador",
    "Latvia",
    "Indonesia",
    "France",
    "Uzbekistan",
    "Norway",
    "Argentina",
    "South Africa",
    "Malaysia",
]
MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
ORDINALS = ["second", "third", "fourth", "fifth", "sixth", "seventh"]
WHENS = [
    "next week",
    "on Thursday",
    "later this month",
    "by the end of the year",
    "this weekend",
    "on Monday",
]
START = dt.date(2024, 1, 1)


@dataclass(frozen=True)
class Record:
    id: str
    title: str
    date: str
    source: str
    text: str

    def as_json(self) -> str:
        return json.dumps(
            {"id": self.id, "title": self.title, "date": self.date, "source": self.source, "text": self.text},
            ensure_ascii=False,
        )


def _person(rng: random.Random) -> str:
    return f"{rng.choice(FIRST)} {rng.choice(LAST)}"


def _sentence(rng: random.Random, topic: dict[str, list[str]], outlet: str) -> str:
    template = rng.choice(TEMPLATES)
    text = template.format(
        person=_person(rng),
        person2=_person(rng),
        role=rng.choice(ROLES),
        role2=rng.choice(ROLES),
        weekday=rng.choice(WEEKDAYS),
        org=rng.choice(ORGS),
        verb=rng.choice(topic["verbs"]),
        thing=rng.choice(topic["things"]),
        city=rng.choice(CITIES),
        city2=rng.choice(CITIES),
        city3=rng.choice(CITIES),
        number=f"{rng.randint(3, 95_000):,}",
        number2=rng.randint(2, 60),
        percent=rng.randint(1, 60),
        when=rng.choice(WHENS),
        outlet=outlet,
        money=f"${rng.randint(2, 900)} million",
        month=rng.choice(MONTHS),
        country=rng.choice(COUNTRIES),
        ordinal=rng.choice(ORDINALS),
    )
    return text[0].upper() + text[1:]


def _fresh(index: int, seed: int) -> Record:
    rng = random.Random(seed * 1_000_003 + index)
    topic_name = rng.choice(sorted(TOPICS))
    topic = TOPICS[topic_name]
    outlet = rng.choice(OUTLETS)
    # Lengths like real news: many short items, some long features.
    paragraphs = max(2, min(40, int(rng.lognormvariate(1.8, 0.6))))
    body = "\n\n".join(
        " ".join(_sentence(rng, topic, outlet) for _ in range(rng.randint(1, 4))) for _ in range(paragraphs)
    )
    place = rng.choice(CITIES)
    title = (
        f"{rng.choice(topic['heads'])} in {place}: {rng.choice(topic['things'])} {rng.choice(topic['verbs'])}"
    )
    date = START + dt.timedelta(days=rng.randint(0, 730))
    return Record(f"gen-{seed}-{index:06d}", title, date.isoformat(), outlet, body)


def _variant(original: Record, index: int, seed: int, kind: str) -> Record:
    """A near-duplicate (another outlet's edit of the same wire story) or an update (the
    same outlet's later version, one paragraph added)."""
    rng = random.Random(seed * 7_000_003 + index)
    paragraphs = original.text.split("\n\n")
    date = dt.date.fromisoformat(original.date)
    if kind == "dup":
        i = rng.randrange(len(paragraphs))
        paragraphs[i] = paragraphs[i].replace(" said ", " told local media ", 1)
        rng.shuffle(paragraphs[1:])
        source = rng.choice([o for o in OUTLETS if o != original.source])
        title = original.title.replace(":", " \u2013", 1)
    else:
        topic = TOPICS[rng.choice(sorted(TOPICS))]
        paragraphs.append("Update: " + _sentence(rng, topic, original.source))
        source = original.source
        title = original.title + " (updated)"
        date = date + dt.timedelta(days=rng.randint(0, 2))
    return Record(f"gen-{seed}-{index:06d}", title, date.isoformat(), source, "\n\n".join(paragraphs))


def records(seed: int = 7) -> Iterator[Record]:
    """The endless stream: ~6% near-duplicates and ~3% updates of earlier articles."""
    made: list[Record] = []
    index = 0
    while True:
        rng = random.Random(seed * 31 + index)
        roll = rng.random()
        if made and roll < 0.06:
            record = _variant(made[rng.randrange(len(made))], index, seed, "dup")
        elif made and roll < 0.09:
            record = _variant(made[rng.randrange(len(made))], index, seed, "update")
        else:
            record = _fresh(index, seed)
        made.append(record)
        yield record
        index += 1


def queries(n: int, seed: int = 7) -> list[str]:
    """Questions in the corpus' own vocabulary (so both BM25 and vectors have work to do)."""
    rng = random.Random(seed * 97)
    out = []
    shapes = [
        "What did {person} say about {thing} in {city}?",
        "Why were {thing} {verb} in {country}?",
        "How much did {org} spend on {thing}?",
        "When will {thing} be reviewed in {city}?",
        "Who is the {role} quoted on {thing}?",
    ]
    for _ in range(n):
        topic = TOPICS[rng.choice(sorted(TOPICS))]
        out.append(
            rng.choice(shapes).format(
                person=_person(rng),
                thing=rng.choice(topic["things"]),
                city=rng.choice(CITIES),
                verb=rng.choice(topic["verbs"]),
                country=rng.choice(COUNTRIES),
                org=rng.choice(ORGS),
                role=rng.choice(ROLES),
            )
        )
    return out


def write_corpus(out: Path, records_: list[Record], per_file: int = 500) -> list[Path]:
    """JSON Lines shards, the bulk format `byline ingest` reads; one record per article."""
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for n, start in enumerate(range(0, len(records_), per_file)):
        path = out / f"shard-{n:04d}.jsonl"
        path.write_text("".join(r.as_json() + "\n" for r in records_[start : start + per_file]), "utf-8")
        paths.append(path)
    return paths


def build_corpus(
    target_chunks: int, out: Path, settings: Settings, seed: int = 7
) -> tuple[list[Record], list[str]]:
    """The first articles of the stream that make at least `target_chunks` chunks (cut by
    the pipeline's own chunker), written to `out`; with those chunks' texts, so callers
    don't load and cut the corpus again."""
    from rag.chunking import Chunker
    from rag.corpus import article_from_record

    chunker = Chunker(settings)
    taken: list[Record] = []
    texts: list[str] = []
    for record in records(seed):
        article = article_from_record(json.loads(record.as_json()), record.id, "gen.jsonl")
        texts.extend(c.text for c in chunker.chunk(article))
        taken.append(record)
        if len(texts) >= target_chunks:
            break
    write_corpus(out, taken)
    return taken, texts


def main() -> None:
    from rag.config import Settings

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--chunks", type=int, required=True, help="stop once this many chunks are reached")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    taken, texts = build_corpus(args.chunks, args.out, Settings(), args.seed)
    print(f"{len(taken)} articles, {len(texts)} chunks -> {args.out}")  # noqa: T201 - a CLI's output


if __name__ == "__main__":
    main()
