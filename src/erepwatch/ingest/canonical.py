"""Canonical links and publisher names: the identity of an item across every source that carries it.

One story reaches us from a news-search feed (wrapped in a redirect), from the publisher's own feed (with
``utm_*`` tags), from a newsletter (``mc_cid``) and as an AMP page. :func:`canonical_url` maps all of them to
one key, so the item is stored once and every source is linked to it.

Library choice: w3lib (Scrapy's URL toolkit, already a dependency) does the RFC 3986 work: IDNA hosts,
percent-encoding normalisation and sorted query strings (``canonicalize_url``). It has no tracking-parameter
list; courlan has one but drags babel, tld and urllib3 in, and url-normalize's ``filter_params`` drops every
parameter outside an allow-list, which breaks ``article.php?id=42`` sites. So the tracking list below is ours,
kept as data (exact names plus prefixes), and everything else is w3lib.
"""

from __future__ import annotations

import base64
import binascii
import re
import unicodedata
from functools import lru_cache
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

from w3lib.url import canonicalize_url as _w3lib_canonicalize

__all__ = ["canonical_url", "clean_url", "item_urls", "publisher_domain", "split_publisher"]

# Parameters that say how a reader arrived, never which page they read. Sources: the UTM spec, the ad and
# mail platforms' docs (Google Ads gclid/dclid/gbraid/wbraid, Microsoft msclkid, Meta fbclid, Mailchimp
# mc_cid/mc_eid, HubSpot _hsenc/_hsmi, Matomo pk_*/mtm_*, Twitter ref_src/ref_url, Instagram igshid…).
_TRACKING_EXACT = frozenset(
    {
        "fbclid",
        "gclid",
        "gclsrc",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "yclid",
        "twclid",
        "ttclid",
        "li_fat_id",
        "mc_cid",
        "mc_eid",
        "igshid",
        "igsh",
        "ref_src",
        "ref_url",
        "_hsenc",
        "_hsmi",
        "__hssc",
        "__hstc",
        "__hsfp",
        "hsctatracking",
        "_ga",
        "_gl",
        "_openstat",
        "oly_anon_id",
        "oly_enc_id",
        "rb_clickid",
        "s_cid",
        "vero_conv",
        "vero_id",
        "wickedid",
        "ncid",
        "cmpid",
        "xtor",
        "at_medium",
        "at_campaign",
        "at_source",
        "at_creation",
        "at_platform",
        "at_format",
        "at_link",
        "at_link_id",
        "at_link_type",
        "at_link_origin",
        "at_send_date",
        "at_ptr_name",
        "at_recipient_id",
        "at_recipient_list",
        "sr_share",
        "smid",
        "smtyp",
        "ito",
        "guce_referrer",
        "guce_referrer_sig",
        "guccounter",
        "mkt_tok",
        "spm",
        "scid",
        "cvid",
        "ocid",
        "ei",
        "ved",
        "usg",
        "sa",
        "rct",
        "cd",
        "ct",
        "oq",
        "sxsrf",
        "share",
        "sh",
        "feature",
        "oc",
        "hl",
        "gl",
        "ceid",
    }
)
_TRACKING_PREFIXES = ("utm_", "itm_", "pk_", "mtm_", "piwik_", "matomo_", "hsa_", "at_", "__twitter")
# Kept apart: these only mean "tracking" on a few hosts (Google, YouTube), elsewhere they can select content.
_HOST_SPECIFIC = frozenset(
    {"ei", "ved", "usg", "sa", "rct", "cd", "ct", "oq", "sxsrf", "share", "sh", "feature", "oc", "hl", "gl", "ceid"}
)

# Markers of the AMP rendition of an article, dropped so it meets its canonical page.
_AMP_QUERY = {("amp", ""), ("amp", "1"), ("amp", "true"), ("outputtype", "amp"), ("_amp", "true"), ("amp", "yes")}
_AMP_SEGMENT = re.compile(r"^(amp|amp\.html)$", re.IGNORECASE)
_AMP_SUFFIX = re.compile(r"\.amp(\.html?)?$", re.IGNORECASE)

_DEFAULT_PORTS = {"http": 80, "https": 443}
_MAX_UNWRAP = 4


def canonical_url(url: str) -> str | None:
    """The identity key of a link, or None when it is not a usable http(s) URL.

    Idempotent: ``canonical_url(canonical_url(u)) == canonical_url(u)``. Never raises on any text.
    """
    return _canonical(url, bare_host=True)


def clean_url(url: str) -> str | None:
    """The link to show and follow: unwrapped and without trackers like the key, but on its own host
    (``www.`` kept), since not every site answers on its bare domain."""
    return _canonical(url, bare_host=False)


def item_urls(url: str) -> tuple[str | None, str | None]:
    """``(canonical_url(url), clean_url(url))``, the key derived from the clean link instead of worked out again.

    The two differ only by the key's host losing ``www.``: when the clean link's host has no such prefix it is
    the key itself, otherwise the key is the clean link with the prefix dropped, checked to be canonical by one
    pass (half the work of canonicalising the link anew). Any doubt falls back to :func:`canonical_url`."""
    clean = clean_url(url)
    if clean is None:
        return canonical_url(url), None
    key = _bare_host(clean)
    return (key if key is not None else canonical_url(url)), clean


def _bare_host(clean: str) -> str | None:
    plain = _PLAIN.match(clean)
    if plain is not None and "#" not in clean:
        # The plainest shape (most links): the host is the regular expression's, the rest follows it.
        host = plain.group(2)
        bare = _bare(host)
        if bare == host:
            return clean
        key = f"{plain.group(1)}://{bare}{clean[plain.end(2) :]}"
        return key if _canonicalise_once(key, bare_host=True) == key else None
    try:
        parts = urlsplit(clean)
        host = parts.hostname or ""
    except ValueError:
        return None
    bare = _bare(host)
    if bare == host:
        return clean
    if not parts.netloc.startswith(host):
        return None  # userinfo or brackets: not the usual shape, let the full path decide
    key = urlunsplit((parts.scheme, bare + parts.netloc[len(host) :], parts.path, parts.query, parts.fragment))
    return key if _canonicalise_once(key, bare_host=True) == key else None


def _bare(host: str) -> str:
    while host.startswith(("www.", "amp.")) and host.count(".") >= 2:
        host = host[4:]
    return host


def _canonical(url: str, *, bare_host: bool) -> str | None:
    if not isinstance(url, str):
        return None
    return _canonical_text(url, bare_host)


@lru_cache(maxsize=8192)
def _canonical_text(url: str, bare_host: bool) -> str | None:
    # Memoised (a pure function of its text): a feed re-fetched without validators, or an article carried by
    # several feeds, brings the same links again; their keys are not worked out twice.
    current = url.strip()
    # Unwrap first (the wrapper's own parameters are noise), then canonicalise; repeat because a
    # wrapper may carry another wrapper (a Google Alert pointing at an AMP cache page).
    for _ in range(_MAX_UNWRAP):
        result = _canonicalise_once(current, bare_host=bare_host)
        if result is None:
            return None
        if result == current:
            return result
        current = result
    return current


# A link of the plainest shape, as most feeds write theirs (86 % of the corpus): http(s), a lower-case ASCII host
# without port or user, a path of unreserved characters and slashes, no query; perhaps a fragment (dropped).
# w3lib would return it as it is but for the fragment and an empty path ("/"), so it is spared w3lib's work,
# three quarters of a link's cost (tested equal to the full path on every corpus link and generated ones).
_PLAIN = re.compile(
    r"(https?)://([a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*)(/[A-Za-z0-9._~/-]*)?(?:#[!-~]*)?\Z"
)


# The same with a query of unreserved characters, '=' and '&' only (a tracker's "?wt_mc=rss.ho" or "?utm_source=x",
# most of the other links): w3lib would only sort its pairs and encode them again, which _clean_query does anyway
# (it parses, filters and sorts the pairs whatever their order), so it is spared w3lib too.
_PLAIN_QUERY = re.compile(
    r"(https?)://([a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*)(/[A-Za-z0-9._~/-]*)?"
    r"\?([A-Za-z0-9._~=&-]*)(?:#[!-~]*)?\Z"
)


def _canonicalise_once(url: str, *, bare_host: bool = True) -> str | None:
    plain = _PLAIN.match(url)
    if plain is not None:
        scheme, host, path = plain.group(1, 2, 3)
        query = ""
    else:
        plain = _PLAIN_QUERY.match(url)
        if plain is not None:
            scheme, host, path, query = plain.group(1, 2, 3, 4)
    if plain is not None:
        path = path or ""
        # Dot segments are resolved by w3lib, and an IDNA label ("xn--") is checked by it: those go the long way.
        if "/." not in path and "xn--" not in host:
            target = _unwrap_redirect(host, path, query)
            if target is not None:
                return target
            return _assembled(scheme, host, None, path, query, bare_host)
    return _canonicalise_slow(url, bare_host=bare_host)


def _canonicalise_slow(url: str, *, bare_host: bool = True) -> str | None:
    try:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        host = (parts.hostname or "").rstrip(".")
        port = parts.port
    except ValueError:
        return None
    if scheme not in _DEFAULT_PORTS or not host or any(c in host for c in " \t\r\n\\"):
        return None
    target = _unwrap_redirect(host.lower(), parts.path, parts.query)
    if target is not None:
        return target
    try:
        # w3lib: IDNA host, percent-encoding normalised, query sorted, fragment dropped.
        canon = _w3lib_canonicalize(url, keep_fragments=False)
        cparts = urlsplit(canon)
        host = (cparts.hostname or "").rstrip(".")
        port = cparts.port
    except (ValueError, UnicodeError):
        return None
    if not host or " " in host:
        return None
    return _assembled(scheme, host.lower(), port, cparts.path, cparts.query, bare_host)


def _assembled(scheme: str, host: str, port: int | None, path: str, query: str, bare_host: bool) -> str:
    """The key (or clean link) from a canonical link's parts: prefixes, AMP markers and trackers dropped."""
    # www. and amp. serve the same article as the bare host on every news site; one key for all three.
    for prefix in ("www.", "amp.") if bare_host else ("amp.",):
        if host.startswith(prefix) and host.count(".") >= 2:
            host = host[len(prefix) :]
    netloc = host if ":" not in host else f"[{host}]"
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        netloc = f"{netloc}:{port}"
    path = _strip_amp_path(path) or "/"
    query = _clean_query(query, host) if query else ""
    # urlunsplit((scheme, netloc, path, query, "")) for a non-empty netloc, without its argument coercion
    if path[:1] != "/":
        path = "/" + path
    return f"{scheme}://{netloc}{path}?{query}" if query else f"{scheme}://{netloc}{path}"


def _clean_query(query: str, host: str) -> str:
    pairs = parse_qsl(query, keep_blank_values=True)
    host_is_google = _is_google(host) or host.endswith("youtube.com")
    kept = []
    for name, value in pairs:
        low = name.lower()
        if (low, value.lower()) in _AMP_QUERY:
            continue
        if low in _TRACKING_EXACT and (low not in _HOST_SPECIFIC or host_is_google):
            continue
        if low.startswith(_TRACKING_PREFIXES):
            continue
        kept.append((name, value))
    kept.sort()
    # w3lib already encoded the values; re-encode the same way so a second pass is a no-op.
    return urlencode(kept, safe="/:@!$'()*,;~?")


def _strip_amp_path(path: str) -> str:
    if "amp" not in path.lower():
        return path  # no AMP segment or suffix can be in it
    segments = path.split("/")
    kept = [s for s in segments if not _AMP_SEGMENT.match(s)]
    if len(kept) != len(segments) and path.endswith("/") and kept and kept[-1] != "":
        kept.append("")
    if kept and _AMP_SUFFIX.search(kept[-1]):
        kept[-1] = _AMP_SUFFIX.sub(lambda m: m.group(1) or "", kept[-1])
    return "/".join(kept)


def _is_google(host: str) -> bool:
    labels = host.split(".")
    return "google" in labels[:-1] and labels[-1] != "google"


def _param(query: str, *names: str) -> str | None:
    for name, value in parse_qsl(query, keep_blank_values=False):
        if name in names:
            return value
    return None


def _http_target(candidate: str | None) -> str | None:
    if not candidate:
        return None
    candidate = candidate.strip()
    if candidate.lower().startswith(("http%3a", "https%3a")):
        candidate = unquote(candidate)
    try:
        parts = urlsplit(candidate)
    except ValueError:
        return None
    if parts.scheme.lower() in _DEFAULT_PORTS and parts.hostname:
        return candidate
    return None


def _unwrap_redirect(host: str, path: str, query: str) -> str | None:
    """The target of a redirect wrapper whose destination is written in the link itself, else None."""
    if _is_google(host):
        if path == "/url":
            return _http_target(_param(query, "q", "url"))
        # Google's AMP viewer: google.com/amp/s/www.example.com/path
        if path.startswith("/amp/s/"):
            return _http_target("https://" + path[len("/amp/s/") :])
        if path.startswith("/amp/") and not path.startswith("/amp/s"):
            return _http_target("http://" + path[len("/amp/") :])
        if host == "news.google.com" and path.startswith(("/articles/", "/rss/articles/")):
            return _http_target(_decode_google_news_id(path.rsplit("/", 1)[-1]))
        return None
    if host.endswith(".cdn.ampproject.org"):
        # AMP cache: /c/s/www.example.com/path (s = https); /v/ and /i/ variants for viewer and images.
        m = re.match(r"^/[cvi]/(s/)?(.+)$", path)
        if m:
            return _http_target(("https://" if m.group(1) else "http://") + m.group(2))
        return None
    if host.endswith("bing.com"):
        if path.lower().endswith("/apiclick.aspx"):
            return _http_target(_param(query, "url"))
        if path == "/ck/a":
            return _http_target(_decode_bing_u(_param(query, "u")))
        return None
    if host in ("l.facebook.com", "lm.facebook.com", "www.facebook.com", "m.facebook.com", "facebook.com"):
        return _http_target(_param(query, "u")) if path == "/l.php" else None
    if host in ("l.instagram.com", "l.threads.net", "l.threads.com"):
        return _http_target(_param(query, "u"))
    if host.endswith("youtube.com") and path == "/redirect":
        return _http_target(_param(query, "q"))
    if host.endswith("linkedin.com") and path.startswith("/redir/"):
        return _http_target(_param(query, "url"))
    if host == "out.reddit.com":
        return _http_target(_param(query, "url"))
    if host.endswith("duckduckgo.com") and path == "/l/":
        return _http_target(_param(query, "uddg"))
    if host.endswith("safelinks.protection.outlook.com"):
        return _http_target(_param(query, "url"))
    if host == "r.search.yahoo.com":
        m = re.search(r"/RU=([^/]+)/", path)
        return _http_target(unquote(m.group(1))) if m else None
    if host in ("slack-redir.net", "t.umblr.com", "href.li", "exit.sc"):
        return _http_target(_param(query, "url", "z"))
    return None


def _decode_bing_u(value: str | None) -> str | None:
    # Bing's /ck/a links carry u=a1<base64url of the target>.
    if not value or not value.startswith("a1"):
        return None
    return _b64(value[2:])


def _decode_google_news_id(article_id: str) -> str | None:
    # Older news.google.com ids ("CBMi…") are base64url protobuf with the target URL in clear; newer ones
    # ("AU_yqL…") are opaque and need a network call, which we never make: those stay as they are.
    raw = _b64_bytes(article_id)
    if raw is None:
        return None
    m = re.search(rb"https?://[\x21-\x7e]+", raw)
    if not m:
        return None
    # The regex stops at the next protobuf field, whose tag byte is outside printable ASCII.
    return m.group(0).decode("ascii")


def _b64_bytes(value: str) -> bytes | None:
    try:
        return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError):
        return None


def _b64(value: str) -> str | None:
    raw = _b64_bytes(value)
    if raw is None:
        return None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return None


# --- publisher names --------------------------------------------------------------------------------------

# Separators news-search feeds put between a headline and the publisher ("Titre - Le Monde").
_SUFFIX_SEPARATORS = (" - ", " – ", " — ", " | ")


def publisher_domain(url: str | None) -> str | None:
    """The host of a publisher's URL, lower-case, without ``www.`` (``https://www.lemonde.fr`` → ``lemonde.fr``)."""
    if not url:
        return None
    plain = _PLAIN.match(url)
    if plain is not None:  # most links: the host is the pattern's (lower-case, no port, no trailing dot)
        host = plain.group(2)
        return host[4:] if host.startswith("www.") and host.count(".") >= 2 else host
    try:
        host = urlsplit(url.strip()).hostname
    except ValueError:
        return None
    if not host:
        return None
    host = host.lower().rstrip(".")
    return host[4:] if host.startswith("www.") and host.count(".") >= 2 else host


def _squash(text: str) -> str:
    """Letters and digits only, case and accents folded: ``Le Monde.fr`` → ``lemondefr``."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if c.isalnum())


def _domain_names(domain: str) -> set[str]:
    """Ways a publisher may spell its own domain in a title suffix: ``lemonde.fr`` → {lemondefr, lemonde}."""
    labels = domain.split(".")
    names = {_squash(domain)}
    if len(labels) >= 2:
        # The label before the public suffix; handles co.uk / com.au style suffixes well enough for titles.
        core = labels[-3] if len(labels) >= 3 and len(labels[-2]) <= 3 and len(labels[-1]) == 2 else labels[-2]
        names.add(_squash(core))
        names.add(_squash(".".join(labels[-2:])))
    return {n for n in names if n}


def split_publisher(title: str, source_title: str | None, source_url: str | None) -> tuple[str, str | None, str | None]:
    """(headline without its publisher suffix, publisher name, publisher domain).

    News-search feeds (Google News, Bing News) append " - Publisher" to every title and name the publisher
    in a ``<source url="…">Publisher</source>`` element. The suffix is cut only when it *is* that publisher
    (its name, or its domain spelled out, as "Le Monde.fr" or "lemonde.fr"), so a headline such as
    "Paris - Marseille : le match reporté" is never shortened.
    """
    title = (title or "").strip()
    name = (source_title or "").strip() or None
    domain = publisher_domain(source_url)
    candidates: set[str] = set()
    if name:
        candidates.add(_squash(name))
    if domain:
        candidates |= _domain_names(domain)
    candidates.discard("")
    if candidates:
        for sep in _SUFFIX_SEPARATORS:
            head, found, tail = title.rpartition(sep)
            if found and head.strip() and _squash(tail) in candidates:
                title = head.strip()
                if name is None:
                    name = tail.strip()
                break
    return title, name, domain
