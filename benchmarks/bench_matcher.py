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

    /work/main/.venv/bin/python benchmarks/bench_matcher.py [--items 20000] [--sizes 10,100,1000,10000] [--dense]
"""

from __future__ import annotations

import argparse
import os
import random
import re
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from erepwatch.analyze import fuzzy as fz  # noqa: E402
from erepwatch.analyze.matcher import MatchItem, WatchSpec, compile_matcher  # noqa: E402
from erepwatch.analyze.query import And, InTitle, Node, Not, Or, Phrase, Site, Word, parse_query  # noqa: E402
from erepwatch.analyze.textnorm import normalize, words  # noqa: E402

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
    found = sorted(n for n, c in counts.items() if c >= 2 and normalize(n) not in fz.STOP_WORDS)
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
            budgets = [fz.edit_budget(t) if fuzzy else 0 for t in term.tokens]
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
            if all(
                hay[p + i] == toks[i] or (budgets[i] and fz.within(toks[i], hay[p + i], budgets[i])) for i in range(n)
            ):
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--items", type=int, default=20_000)
    ap.add_argument("--sizes", default="10,100,1000,10000")
    ap.add_argument("--seed", type=int, default=3)
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

    header = f"{'watches':>8} {'compile':>8} {'indexed it/s':>13} {'naive it/s':>11} {'speed-up':>9}"
    print(header + f" {'naive sample':>13} {'agree':>7} {'mentions/item':>14}")
    per_item: dict[int, float] = {}
    for size in (int(s) for s in args.sizes.split(",")):
        watches = make_watches(size, names, random.Random(args.seed + size))
        start = time.perf_counter()
        matcher = compile_matcher(watches)
        compile_s = time.perf_counter() - start
        assert not matcher.errors, matcher.errors
        elapsed, results = timed(matcher.match, items)
        per_item[size] = elapsed / len(items)
        sample_n = max(50, min(len(items), 2_000_000 // (size * 25)))
        sample = random.Random(size).sample(range(len(items)), min(sample_n, len(items)))
        naive = NaiveMatcher(watches)
        naive_s, naive_results = timed(naive.match, [items[i] for i in sample])
        agree = sum(sorted(m.watch_id for m in results[i]) == naive_results[k] for k, i in enumerate(sample)) / len(
            sample
        )
        indexed_rate = len(items) / elapsed
        naive_rate = len(sample) / naive_s
        mentions = sum(len(r) for r in results) / len(items)
        print(
            f"{size:>8} {compile_s:>7.2f}s {indexed_rate:>13,.0f} {naive_rate:>11,.1f} "
            f"{indexed_rate / naive_rate:>8.1f}x {len(sample):>13} {agree:>7.1%} {mentions:>14.2f}"
        )
    sizes = sorted(per_item)
    if len(sizes) > 1:
        lo, hi = sizes[0], sizes[-1]
        print(
            f"\ncost per item: {per_item[lo] * 1e6:.0f} µs at {lo} watches, {per_item[hi] * 1e6:.0f} µs at "
            f"{hi} watches: {per_item[hi] / per_item[lo]:.2f}x (goal: at most 3x)"
        )
    print("naive items/s are measured on the sample shown and extrapolated; indexed on every item.")


if __name__ == "__main__":
    main()
