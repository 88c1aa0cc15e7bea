"""The words of digests and alerts, in French (the default) and English."""

from __future__ import annotations

STRINGS: dict[str, dict[str, str]] = {
    "fr": {
        "digest_title": "Votre revue de réputation",
        "period": "Du {start} au {end} ({tz})",
        "nothing_new": "Rien de nouveau depuis le dernier envoi.",
        "watch": "Veille",
        "total": "Total",
        "negative": "négatif",
        "neutral": "neutre",
        "positive": "positif",
        "why": "Pourquoi",
        "negatives": "Négatives",
        "neutrals": "Neutres",
        "positives": "Positives",
        "chart_title": "Volume des 14 derniers jours",
        "more_sources": "+{n} sources",
        "more_source": "+1 source",
        "change_negative": "devenu négatif",
        "change_crisis": "tag crise ajouté",
        "troubles_title": "Sources en difficulté",
        "failing": "en échec",
        "silent": "muette depuis un jour ou plus",
        "last_ok": "dernier succès",
        "never": "jamais",
        "unsubscribe": "Se désabonner",
        "colon": " :",  # French puts a space before a colon; English does not
        "footer": "Envoyé par erepwatch à {email}.",
        "alert_title": "Alerte",
        "alert_intro": "Nouvelles mentions à surveiller :",
        "spike_title": "Pic de mentions",
        "spike_text": (
            "{watch} : {count} mentions sur les dernières 24 h, contre une moyenne de {mean} par jour sur les "
            "7 jours précédents (écart-type {std}, seuil = moyenne + {k} × {spread} = {threshold})."
        ),
        "read": "Lire",
    },
    "en": {
        "digest_title": "Your reputation digest",
        "period": "From {start} to {end} ({tz})",
        "nothing_new": "Nothing new since the last digest.",
        "watch": "Watch",
        "total": "Total",
        "negative": "negative",
        "neutral": "neutral",
        "positive": "positive",
        "why": "Why",
        "negatives": "Negative",
        "neutrals": "Neutral",
        "positives": "Positive",
        "chart_title": "Volume over the last 14 days",
        "more_sources": "+{n} sources",
        "more_source": "+1 source",
        "change_negative": "turned negative",
        "change_crisis": "crisis tag added",
        "troubles_title": "Sources in trouble",
        "failing": "failing",
        "silent": "silent for a day or more",
        "last_ok": "last success",
        "never": "never",
        "unsubscribe": "Unsubscribe",
        "colon": ":",
        "footer": "Sent by erepwatch to {email}.",
        "alert_title": "Alert",
        "alert_intro": "New mentions to look at:",
        "spike_title": "Mention spike",
        "spike_text": (
            "{watch}: {count} mentions in the last 24 h, against a mean of {mean} a day over the 7 days before "
            "(standard deviation {std}, threshold = mean + {k} × {spread} = {threshold})."
        ),
        "read": "Read",
    },
}

LOCALES = tuple(STRINGS)


def strings(locale: str) -> dict[str, str]:
    return STRINGS.get(locale, STRINGS["fr"])


def digest_subject(locale: str, watches: list[str], stories: int, negative: int) -> str:
    names = ", ".join(watches[:2]) + (f" +{len(watches) - 2}" if len(watches) > 2 else "")
    if locale == "en":
        if not stories:
            return "[erepwatch] Nothing new"
        head = f"[erepwatch] {names}: {stories} new mention{'s' if stories > 1 else ''}"
        return head + (f", {negative} negative" if negative else "")
    if not stories:
        return "[erepwatch] Rien de nouveau"
    plural = "s" if stories > 1 else ""
    head = f"[erepwatch] {names} : {stories} nouvelle{plural} mention{plural}"
    return head + (f", dont {negative} négative{'s' if negative > 1 else ''}" if negative else "")


def alert_subject(locale: str, watches: list[str], count: int) -> str:
    """``count`` is a number of stories (one line per story), as in the digest's subject."""
    names = ", ".join(watches[:2]) + (f" +{len(watches) - 2}" if len(watches) > 2 else "")
    if locale == "en":
        return f"[erepwatch] Alert {names}: {count} mention{'s' if count > 1 else ''} to look at"
    return f"[erepwatch] Alerte {names} : {count} mention{'s' if count > 1 else ''} à surveiller"


def decimal(locale: str, value: float, places: int = 1) -> str:
    """``0.9`` in English, ``0,9`` in French: the body writes numbers as the subject does."""
    text = f"{value:.{places}f}"
    return text if locale == "en" else text.replace(".", ",")


def spike_subject(locale: str, watch: str, count: int, mean: float) -> str:
    if locale == "en":
        return f"[erepwatch] Spike for {watch}: {count} mentions in 24 h (mean {decimal(locale, mean)})"
    return f"[erepwatch] Pic de mentions pour {watch} : {count} en 24 h (moyenne {decimal(locale, mean)})"
