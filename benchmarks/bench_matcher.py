"""Matcher throughput: the indexed matcher against a naive one-regex-per-watch baseline, in one run.

Items: every entry of the real feeds in /work/shared/corpus/feeds (parsed with feedparser, HTML stripped
with selectolax), repeated with varied URLs and paragraph order until there are ``--items`` of them.
Watches: realistic brand and company queries: capitalised names found in the corpus (one in five, so
that many do match; one in two with --dense) and French/English brand names plus invented ones,
in the shapes people write: a bare name, a phrase, exclusions, OR of variants, site:, intitle:, --fuzzy.

The naive baseline evaluates each watch separately with regular expressions over the normalized text
(normalization done once per item, shared, so only the matching is compared). It is slow, so it runs on
a sample of the items at each size and its items/s is extrapolated from that sample; the output says so.
Both matchers must agree on which watches match each sampled item; disagreements are reported.

The indexed matchers of every size are timed in turns on the same chunks of items (see ``interleaved``),
so that a shared, loaded machine disturbs the ratios between sizes as little as possible; the output gives
items/s over all items, the median and minimum cost per item over the chunks, and the ratio of each size's
cost to the smallest size's (over all items, and the median of the per-chunk ratios) beside the goals.

    /work/main/.venv/bin/python benchmarks/bench_matcher.py [--items 20000] [--sizes 10,100,1000,10000] [--dense]
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import re
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from erepwatch.analyze.fuzzy import STOP_WORDS, edit_budget, within  # noqa: E402
from erepwatch.analyze.matcher import MatchItem, WatchSpec, compile_matcher  # noqa: E402
from erepwatch.analyze.query import And, InTitle, Node, Not, Or, Phrase, Site, Word, parse_query  # noqa: E402
from erepwatch.analyze.textnorm import fold_words, words  # noqa: E402

DENSE = "--dense" in sys.argv
# One watch in CORPUS_EVERY is a name taken from the corpus itself (so it does occur in the news); the
# others are brands and invented company names, most of which are absent on a given day, as on an
# agency's list. --dense makes it one in two, most frequent names first: the worst case.
CORPUS_EVERY = 2 if DENSE else 5
FEEDS = Path(os.environ.get("EREPWATCH_CORPUS", "/work/shared/corpus/feeds"))

BRANDS = """Carrefour|Danone|L'Oréal|Décathlon|Crédit Agricole|Société Générale|BNP Paribas|Air France|
Michelin|Renault|Peugeot|Citroën|TotalEnergies|Orange|Bouygues Télécom|SFR|Free Mobile|La Poste|SNCF|
Leroy Merlin|Castorama|Fnac|Darty|Boulanger|Auchan|Leclerc|Intermarché|Monoprix|Franprix|Picard|Lactalis|
Bonduelle|Fleury Michon|Herta|Yoplait|Évian|Volvic|Perrier|Ricard|Pernod|Moët Hennessy|LVMH|Hermès|Chanel|
Dior|Kering|Yves Saint Laurent|Sephora|Yves Rocher|Clarins|Lancôme|Guerlain|Decitre|Cultura|Maisons du Monde|
But|Conforama|Ikea|Kiabi|Jules|Celio|Promod|Camaïeu|Petit Bateau|Aigle|Lacoste|Le Coq Sportif|Rossignol|
Salomon|Babolat|Airbus|Safran|Thales|Dassault Systèmes|Capgemini|Atos|Sopra Steria|Ubisoft|Deezer|
BlaBlaCar|Doctolib|Back Market|Vinted|Qonto|Alan|Lydia|Mirakl|Contentsquare|OVHcloud|Scaleway|Veepee|
Cdiscount|Le Bon Coin|Meetic|Ledger|Sorare|Mistral AI|Hugging Face|Criteo|Dailymotion|Canal Plus|TF1|M6|
Apple|Google|Microsoft|Amazon|Netflix|Spotify|Tesla|Nvidia|Intel|Samsung|Sony|Nintendo|Coca-Cola|PepsiCo|
Nestlé|Unilever|Procter & Gamble|Johnson & Johnson|Starbucks|McDonald's|Burger King|KFC|Uber|Airbnb|
Booking.com|Expedia|Ryanair|easyJet|Lufthansa|British Airways|Boeing|Ford|Toyota|Volkswagen|BMW|Mercedes-Benz|
Stellantis|Shell|BP|ExxonMobil|Pfizer|Moderna|Sanofi|AstraZeneca|Novartis|Roche|Bayer|Siemens|Philips|
Ericsson|Nokia|Huawei|Xiaomi|OpenAI|Anthropic|Mozilla|GitHub|GitLab|Cloudflare|Fastly|Stripe|PayPal|Visa|
Mastercard|Revolut|N26|Monzo|Wise|Klarna|Shopify|Etsy|eBay|Zalando|ASOS|Primark|Zara|H&M|Uniqlo|Nike|Adidas|
Puma|Reebok|Decathlon|Go Sport|Intersport|Boulangerie Paul|Brioche Dorée|La Mie Câline|Ladurée|Pierre Hermé"""

SYLLABLES = ["ka", "ri", "mo", "ve", "lu", "sta", "bri", "qui", "no", "xa", "tel", "pho", "gen"]
SYLLABLES += ["ver", "dia", "lam", "cor", "syn", "tec", "zo", "fi"]
EXCLUDE_WORDS = ["fruit", "jus", "emploi", "recrutement", "stage", "promo", "soldes", "horoscope", "météo"]
DOMAINS = ["lemonde.fr", "lefigaro.fr", "bfmtv.com", "20minutes.fr", "reddit.com", "youtube.com", "medium.com"]


# ------------------------------------------------------------------------------------------------ data


def load_entries() -> list[MatchItem]:
    import feedparser
    from selectolax.lexbor import LexborHTMLParser as HTMLParser

    def plain(html: str) -> str:
        if "<" not in html and "&" not in html:
            return html
        tree = HTMLParser(html)
        return " ".join((tree.body or tree.root).text(separator=" ").split()) if tree.root else ""

    items: list[MatchItem] = []
    for path in sorted(FEEDS.iterdir()):
        if path.suffix in (".tsv", ".md"):
            continue
        lang = path.name[:2] if path.name[2:3] == "-" and path.name[:2] in ("fr", "en", "de", "ru") else None
        for e in feedparser.parse(path.read_bytes()).entries:
            title = plain(str(e.get("title", "")))
            parts = [plain(str(e.get("summary", "")))]
            parts += [plain(str(c.get("value", ""))) for c in e.get("content", [])]
            text = "\n\n".join(dict.fromkeys(p for p in parts if p))
            if title or text:
                items.append(MatchItem(title, text, str(e.get("link", "")) or None, lang))
    return items


def vary(entries: list[MatchItem], n: int, rng: random.Random) -> list[MatchItem]:
    """Repeat the real entries with shuffled paragraphs and other hosts, as syndication does."""
    out = list(entries[:n])
    while len(out) < n:
        e = rng.choice(entries)
        paras = e.text.split("\n\n")
        rng.shuffle(paras)
        host = rng.choice(DOMAINS)
        out.append(MatchItem(e.title, "\n\n".join(paras), f"https://www.{host}/a/{len(out)}", e.language))
    return out


def corpus_names(entries: list[MatchItem]) -> list[str]:
    """Capitalised one- to three-word names that are not sentence starts: people, places, companies."""
    name = re.compile(r"(?<=[a-zà-ÿ,] )([A-ZÀ-Ý][\w'’-]{2,}(?: [A-ZÀ-Ý][\w'’-]{2,}){0,2})")
    counts: Counter[str] = Counter()
    for e in entries:
        counts.update(name.findall(e.text[:3000]))
    found = sorted(n for n, c in counts.items() if c >= 2 and fold_words(n) not in STOP_WORDS)
    if DENSE:
        return sorted(found, key=lambda n: -counts[n])
    # Brands named at least twice, in random order: some are everywhere (France, Google), most are rare,
    # as on an agency's list. --dense takes the most frequent names first, the worst case.
    random.Random(0).shuffle(found)
    return found


def make_watches(n: int, names: list[str], rng: random.Random) -> list[WatchSpec]:
    brands = [b.strip() for b in BRANDS.replace("\n", "").split("|") if b.strip()]
    watches = []
    for i in range(n):
        if i % CORPUS_EVERY == 0 and names:
            name = names[(i // CORPUS_EVERY) % len(names)]
        elif i % 4 == 1:
            name = brands[(i // 4) % len(brands)]
            if i // 4 >= len(brands):
                name += " " + "".join(rng.sample(SYLLABLES, 2)).capitalize()
        else:
            name = "".join(rng.sample(SYLLABLES, rng.randint(2, 4))).capitalize()
        term = f'"{name}"' if " " in name or rng.random() < 0.2 else name
        shape = rng.random()
        fuzzy = False
        if shape < 0.40:
            query = term
        elif shape < 0.60:
            query = f"{term} -{rng.choice(EXCLUDE_WORDS)}"
        elif shape < 0.72:
            other = "".join(rng.sample(SYLLABLES, 3)).capitalize()
            query = f"{term} OR {other} OR {name.split()[0]}{rng.choice(SYLLABLES)}"
        elif shape < 0.80:
            query = f"{term} -site:{rng.choice(DOMAINS)}"
        elif shape < 0.85:
            query = f"intitle:{term}"
        elif shape < 0.90:
            query = f"({term} | {name.split()[-1]}) (avis OR review OR {rng.choice(EXCLUDE_WORDS)})"
        else:
            query, fuzzy = term, True
        langs = frozenset({"fr"}) if rng.random() < 0.15 else frozenset()
        watches.append(WatchSpec(i + 1, name, query, langs, fuzzy))
    return watches


# -------------------------------------------------------------------------------------- naive baseline


class NaiveMatcher:
    """Each watch evaluated on its own, each term a regular expression over the normalized text."""

    def __init__(self, watches: list[WatchSpec]):
        self.watches = [(w, self._compile(parse_query(w.query), w.fuzzy)) for w in watches]

    def _compile(self, node: Node, fuzzy: bool):
        if isinstance(node, Word | Phrase | InTitle):
            term = node.term if isinstance(node, InTitle) else node
            budgets = [edit_budget(t) if fuzzy else 0 for t in term.tokens]
            pattern = re.compile(r"(?<!\S)" + " ".join(map(re.escape, term.tokens)) + r"(?!\S)")
            return ("term", pattern, term.tokens, budgets, isinstance(node, InTitle))
        if isinstance(node, Site):
            return ("site", re.compile(r"^https?://(?:[^/]*\.)?" + re.escape(node.domain) + r"(?:[:/]|$)"))
        if isinstance(node, Not):
            return ("not", self._compile(node.child, fuzzy))
        kind = "and" if isinstance(node, And) else "or"
        assert isinstance(node, And | Or)
        return (kind, [self._compile(c, fuzzy) for c in node.children])

    def _eval(self, c, title: str, text: str, vocab: list[str], url: str) -> bool:
        kind = c[0]
        if kind == "term":
            _, pattern, toks, budgets, title_only = c
            if pattern.search(title) or (not title_only and pattern.search(text)):
                return True
            if not any(budgets):
                return False
            hay = title.split() if title_only else vocab
            return self._fuzzy_seq(toks, budgets, hay)
        if kind == "site":
            return bool(c[1].search(url))
        if kind == "not":
            return not self._eval(c[1], title, text, vocab, url)
        if kind == "and":
            return all(self._eval(x, title, text, vocab, url) for x in c[1])
        return any(self._eval(x, title, text, vocab, url) for x in c[1])

    @staticmethod
    def _fuzzy_seq(toks, budgets, hay: list[str]) -> bool:
        n = len(toks)
        for p in range(len(hay) - n + 1):
            if all(hay[p + i] == toks[i] or (budgets[i] and within(toks[i], hay[p + i], budgets[i])) for i in range(n)):
                return True
        return False

    def match(self, item: MatchItem) -> list[int]:
        title, text = " ".join(words(item.title)), " ".join(words(item.text))
        vocab = [*title.split(), "", *text.split()]  # "" keeps phrases from spanning title and text
        lang = (item.language or "").split("-")[0].lower()
        return [
            w.id
            for w, c in self.watches
            if not (w.languages and lang and lang not in w.languages)
            and self._eval(c, title, text, vocab, item.url or "")
        ]


# -------------------------------------------------------------------------------------------------- run


def timed(fn, items) -> tuple[float, list]:
    start = time.perf_counter()
    results = [fn(item) for item in items]
    return time.perf_counter() - start, results


def interleaved(matchers: dict[int, object], items: list[MatchItem], chunk: int) -> tuple[dict, dict, dict]:
    """Time every matcher on the same chunks of items, one chunk after the other, sizes taking turns.

    A burst of load on a shared machine then hits every size alike instead of whichever ran at that
    moment, and the ratio of two sizes on one chunk compares the same items seconds apart. Each matcher
    still sees every item once, in order, so first-sight costs (a word's fuzzy lookup) are counted.
    Returns per size the seconds per item of each chunk, the number of mentions, and the watch ids
    matched on each item. Only plain ints are kept: holding a whole chunk's Match objects would let them
    age into the collector's oldest generation, whose full collections then walk every long-lived
    object, a cost of this script that a poll, which stores each item's mentions and moves on, does not have.
    """
    seconds: dict[int, list[float]] = {size: [] for size in matchers}
    mentions: dict[int, int] = dict.fromkeys(matchers, 0)
    matched: dict[int, list[tuple[int, ...]]] = {size: [] for size in matchers}
    sizes = list(matchers)
    clock = time.perf_counter
    for n, start in enumerate(range(0, len(items), chunk)):
        part = items[start : start + chunk]
        for size in sizes[n % len(sizes) :] + sizes[: n % len(sizes)]:  # rotate who goes first
            match = matchers[size].match  # type: ignore[attr-defined]
            elapsed = 0.0
            for item in part:
                # Each item's matches are dropped once counted, as a poll stores them and moves on.
                t = clock()
                found = match(item)
                elapsed += clock() - t
                mentions[size] += len(found)
                matched[size].append(tuple(sorted(m.watch_id for m in found)))
            seconds[size].append(elapsed / len(part))
    return seconds, mentions, matched


def mean_cost(per_item: list[float], lengths: list[int]) -> float:
    """Seconds per item over all chunks (the last one may be shorter)."""
    return sum(c * n for c, n in zip(per_item, lengths, strict=True)) / sum(lengths)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--items", type=int, default=20_000)
    ap.add_argument("--sizes", default="10,100,1000,10000")
    ap.add_argument("--seed", type=int, default=3)
    ap.add_argument("--chunk", type=int, default=500, help="items per interleaved chunk")
    ap.add_argument("--dense", action="store_true", help="watch the most frequent corpus names first")
    args = ap.parse_args()
    rng = random.Random(args.seed)

    t0 = time.perf_counter()
    entries = load_entries()
    items = vary(entries, args.items, rng)
    names = corpus_names(entries)
    chars = sum(len(i.title) + len(i.text) for i in items) / len(items)
    print(f"{len(entries)} real entries from {FEEDS} -> {len(items)} items, {chars:.0f} characters on average")
    print(f"{len(names)} capitalised names found in the corpus; data ready in {time.perf_counter() - t0:.1f}s\n")

    # The corpus held in memory is this script's, not a poll's: out of the garbage collector's sight, it
    # no longer makes each full collection (which the larger sizes, allocating more, trigger more
    # often) cost in proportion to it. The matchers, compiled below, stay in its sight as in a poll.
    gc.collect()
    gc.freeze()
    sizes = sorted({int(s) for s in args.sizes.split(",")})
    watches = {size: make_watches(size, names, random.Random(args.seed + size)) for size in sizes}
    matchers, compile_s = {}, {}
    for size in sizes:
        start = time.perf_counter()
        matchers[size] = compile_matcher(watches[size])
        compile_s[size] = time.perf_counter() - start
        assert not matchers[size].errors, matchers[size].errors
    seconds, mentions, matched = interleaved(matchers, items, args.chunk)
    lengths = [len(items[i : i + args.chunk]) for i in range(0, len(items), args.chunk)]

    print(f"every size timed on the same {len(seconds[sizes[0]])} chunks of {args.chunk} items, sizes taking turns")
    header = f"{'watches':>8} {'compile':>8} {'indexed it/s':>13} {'median µs':>10} {'min µs':>7} {'naive it/s':>11}"
    print(header + f" {'speed-up':>9} {'naive sample':>13} {'agree':>7} {'mentions/item':>14}")
    speedup: dict[int, float] = {}
    for size in sizes:
        per_item = mean_cost(seconds[size], lengths)
        sample_n = max(50, min(len(items), 2_000_000 // (size * 25)))
        sample = random.Random(size).sample(range(len(items)), min(sample_n, len(items)))
        naive = NaiveMatcher(watches[size])
        naive_s, naive_results = timed(naive.match, [items[i] for i in sample])
        agree = sum(list(matched[size][i]) == naive_results[k] for k, i in enumerate(sample)) / len(sample)
        naive_rate = len(sample) / naive_s
        speedup[size] = 1 / per_item / naive_rate
        per_item_mentions = mentions[size] / len(items)
        median_us, min_us = statistics.median(seconds[size]) * 1e6, min(seconds[size]) * 1e6
        print(
            f"{size:>8} {compile_s[size]:>7.2f}s {1 / per_item:>13,.0f} {median_us:>10,.0f} {min_us:>7,.0f}"
            f" {naive_rate:>11,.1f} {speedup[size]:>8.1f}x {len(sample):>13} {agree:>7.1%} {per_item_mentions:>14.2f}"
        )
    print("naive items/s are measured on the sample shown and extrapolated; indexed on every item.\n")
    if 1000 in speedup:
        verdict = "met" if speedup[1000] >= 20 else "NOT met"
        print(f"goal: at 1,000 watches at least 20x the naive baseline: {speedup[1000]:.1f}x ({verdict})")
    lo = sizes[0]
    for hi in sizes[1:]:
        total = mean_cost(seconds[hi], lengths) / mean_cost(seconds[lo], lengths)
        per_chunk = statistics.median(h / lo_s for h, lo_s in zip(seconds[hi], seconds[lo], strict=True))
        goal = ""
        if (lo, hi) == (10, 10_000):
            verdict = "met" if max(total, per_chunk) <= 3 else "NOT met"
            goal = f"   goal: at most 3x ({verdict})"
        print(
            f"cost per item at {hi:>6,} watches / at {lo:,}: {total:.2f}x over all items, "
            f"median of the chunks {per_chunk:.2f}x{goal}"
        )


if __name__ == "__main__":
    main()
