"""Which (language, region) editions a watch's languages and regions call for.

A watch says ``--lang fr,en --region FR,CA``; news search engines want one edition per query: fr-FR, fr-CA,
en-CA. The rules, in order:

- a language and a region pair up when the language is one of the region's (fr-CA, en-CA; never en-FR);
- a language no given region speaks gets its home edition (en → en-US), so an English watch is never silent;
- only regions: each with its main language, or all official ones (CA → en-CA, fr-CA);
- only languages: each with its home region;
- neither: en-US. A region we do not know pairs with every language given (or English).
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["HOME_REGION", "REGION_LANGUAGES", "editions"]

#: The edition a language falls back to when no region is given.
HOME_REGION: dict[str, str] = {
    "en": "US", "fr": "FR", "de": "DE", "es": "ES", "it": "IT", "pt": "BR", "nl": "NL", "ja": "JP", "zh": "CN",
    "ko": "KR", "sv": "SE", "da": "DK", "nb": "NO", "no": "NO", "cs": "CZ", "el": "GR", "uk": "UA", "he": "IL",
    "ar": "EG", "hi": "IN", "pl": "PL", "ru": "RU", "tr": "TR", "fi": "FI", "hu": "HU", "ro": "RO", "id": "ID",
    "vi": "VN", "th": "TH",
}  # fmt: skip

#: Languages of the news editions of a region (Google News lists these editions).
REGION_LANGUAGES: dict[str, tuple[str, ...]] = {
    "US": ("en", "es"), "GB": ("en",), "CA": ("en", "fr"), "AU": ("en",), "NZ": ("en",), "IE": ("en",),
    "IN": ("en", "hi"), "ZA": ("en",), "SG": ("en", "zh"), "NG": ("en",), "KE": ("en",), "PH": ("en",),
    "FR": ("fr",), "BE": ("fr", "nl"), "CH": ("de", "fr", "it"), "LU": ("fr", "de"), "MA": ("fr", "ar"),
    "SN": ("fr",), "DE": ("de",), "AT": ("de",), "ES": ("es",), "MX": ("es",), "AR": ("es",), "CO": ("es",),
    "CL": ("es",), "PE": ("es",), "IT": ("it",), "NL": ("nl",), "PT": ("pt",), "BR": ("pt",), "JP": ("ja",),
    "CN": ("zh",), "TW": ("zh",), "HK": ("zh", "en"), "KR": ("ko",), "SE": ("sv",), "DK": ("da",),
    "NO": ("no",), "PL": ("pl",), "CZ": ("cs",), "GR": ("el",), "UA": ("uk",), "IL": ("he", "en"),
    "EG": ("ar",), "RU": ("ru",), "TR": ("tr",), "FI": ("fi",), "HU": ("hu",), "RO": ("ro",), "ID": ("id", "en"),
}  # fmt: skip


#: Regions whose several official languages each have an edition: a region alone means all of them.
MULTILINGUAL = frozenset({"CA", "BE", "CH", "LU"})


def _home(lang: str) -> str:
    return HOME_REGION.get(lang, lang.upper())


def editions(languages: Sequence[str], regions: Sequence[str]) -> list[tuple[str, str]]:
    """(language, REGION) pairs, in the order the watch gives them, each once."""
    langs = [lang.lower().split("-")[0] for lang in languages]
    regs = [r.upper() for r in regions]
    pairs: list[tuple[str, str]] = []
    if not langs and not regs:
        pairs.append(("en", "US"))
    elif not regs:
        pairs.extend((lang, _home(lang)) for lang in langs)
    elif not langs:
        for region in regs:
            spoken = REGION_LANGUAGES.get(region, ("en",))
            pairs.extend((lang, region) for lang in (spoken if region in MULTILINGUAL else spoken[:1]))
    else:
        for region in regs:
            known = REGION_LANGUAGES.get(region)
            pairs.extend((lang, region) for lang in langs if known is None or lang in known)
        paired = {lang for lang, _ in pairs}
        pairs.extend((lang, _home(lang)) for lang in langs if lang not in paired)
    return list(dict.fromkeys(pairs))
