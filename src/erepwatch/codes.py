"""The language and country codes a watch may name: ISO 639-1 and ISO 3166-1 alpha-2, nothing else.

News search editions are keyed by these codes (``hl=fr&gl=CA``); a code outside them gives a search feed
that silently returns another edition or nothing, so it is refused where it is typed.
"""

from __future__ import annotations

__all__ = ["COUNTRIES", "LANGUAGES", "check_language", "check_region"]

#: ISO 639-1 (two-letter language codes).
LANGUAGES = frozenset(
    """
    aa ab ae af ak am an ar as av ay az ba be bg bh bi bm bn bo br bs ca ce ch co cr cs cu cv cy da de dv dz ee
    el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi ho hr ht hu hy hz ia id ie ig ii ik io is
    it iu ja jv ka kg ki kj kk kl km kn ko kr ks ku kv kw ky la lb lg li ln lo lt lu lv mg mh mi mk ml mn mr ms
    mt my na nb nd ne ng nl nn no nr nv ny oc oj om or os pa pi pl ps pt qu rm rn ro ru rw sa sc sd se sg si sk
    sl sm sn so sq sr ss st su sv sw ta te tg th ti tk tl tn to tr ts tt tw ty ug uk ur uz ve vi vo wa wo xh yi
    yo za zh zu
    """.split()  # noqa: SIM905 - a table is easier to check against the standard than a list
)

#: ISO 3166-1 alpha-2 (two-letter country codes, officially assigned).
COUNTRIES = frozenset(
    """
    AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY
    BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK
    FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR
    IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK
    ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM
    PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF
    TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW
    """.split()  # noqa: SIM905 - a table is easier to check against the standard than a list
)

#: Codes people type for a country whose ISO code is another.
_COUNTRY_HINTS = {"UK": "GB", "EN": "GB", "QC": "CA", "EL": "GR"}
_LANGUAGE_HINTS = {"gr": "el", "jp": "ja", "cn": "zh", "dk": "da", "se": "sv", "cz": "cs", "ua": "uk", "kr": "ko"}


def check_language(code: str) -> str:
    """``code`` lower-cased when it is ISO 639-1; otherwise ValueError saying what to type."""
    lang = code.strip().lower()
    if lang in LANGUAGES:
        return lang
    hint = f" (did you mean {_LANGUAGE_HINTS[lang]}?)" if lang in _LANGUAGE_HINTS else ""
    raise ValueError(f"language {code!r} is not an ISO 639-1 code such as fr or en{hint}")


def check_region(code: str) -> str:
    """``code`` upper-cased when it is ISO 3166-1 alpha-2; otherwise ValueError saying what to type."""
    region = code.strip().upper()
    if region in COUNTRIES:
        return region
    hint = f" (did you mean {_COUNTRY_HINTS[region]}?)" if region in _COUNTRY_HINTS else ""
    raise ValueError(f"region {code!r} is not an ISO 3166-1 country code such as FR or CA{hint}")
