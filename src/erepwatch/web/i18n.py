"""The web app's words in French (the default) and English, the reader's language and time zone, and dates.

Like ``notify/strings.py`` for e-mails: one flat catalog per language with the same keys (a test checks it),
``{name}`` placeholders filled by :meth:`Translator.__call__`. The language comes from the ``lang`` cookie (the
switch on every page), else the browser's ``Accept-Language``, else French; the time zone from the ``tz`` cookie
(set by the page from the browser's own zone, or chosen), else Europe/Paris.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

LOCALES = ("fr", "en")
DEFAULT_LOCALE = "fr"
DEFAULT_TZ = "Europe/Paris"

STRINGS: dict[str, dict[str, str]] = {
    "fr": {
        "nav_mentions": "Mentions",
        "nav_trends": "Tendances",
        "nav_watches": "Veilles",
        "nav_sources": "Sources",
        "nav_recipients": "Destinataires",
        "nav_acts": "Journal",
        "logout": "Se déconnecter",
        "switch_lang": "English",
        "skip": "Aller au contenu",
        "filters": "Filtres",
        "all_watches": "Toutes les veilles",
        "any_sentiment": "Tous les tons",
        "any_tag": "Toutes les étiquettes",
        "any_source": "Tous les sites",
        "any_lang": "Toutes les langues",
        "from": "Du",
        "to": "au",
        "starred_only": "Favoris seulement",
        "hidden_only": "Masquées seulement",
        "search": "Rechercher",
        "search_placeholder": "mots dans le titre ou le texte",
        "apply": "Filtrer",
        "reset": "Effacer les filtres",
        "no_mentions": "Aucune mention pour ces filtres.",
        "no_mentions_yet": "Aucune mention pour l'instant : ajoutez une veille et des sources.",
        "next_page": "Page suivante →",
        "first_page": "← Première page",
        "positive": "positif",
        "negative": "négatif",
        "neutral": "neutre",
        "why": "pourquoi",
        "more_sources": "+{n} sources",
        "more_source": "+1 source",
        "also_in": "Aussi publié par",
        "star": "Favori",
        "unstar": "Retirer des favoris",
        "irrelevant": "Hors sujet",
        "relevant_again": "Remettre",
        "mute": "Masquer {domain} pour {watch}",
        "starred": "favori",
        "watch": "Veille",
        "sentiment": "Ton",
        "tag": "Étiquette",
        "source": "Site",
        "language": "Langue",
        "published": "Publié",
        "feed_of": "Flux Atom de {name}",
        "feed_all": "Flux Atom de tout",
        "marked_irrelevant": "Mention marquée hors sujet : elle sort des listes, résumés, alertes et tendances.",
        "undo": "Annuler",
        "suggestion": "Exclusion suggérée",
        "suggest_word": "Ajouter {term} à la requête de {watch}",
        "suggest_none": "Aucun mot ne sépare cette mention des mentions pertinentes ; masquez plutôt son site.",
        "preview_before": "La requête trouve aujourd'hui {n} articles sur 30 jours.",
        "preview_after": "Avec l'exclusion : {n} articles ({diff} de moins).",
        "preview_drops_it": "Cette mention ne serait plus trouvée.",
        "preview_keeps_it": "Cette mention serait encore trouvée.",
        "apply_exclusion": "Appliquer l'exclusion",
        "back_to_list": "Retour à la liste",
        "exclusion_applied": "Exclusion appliquée : nouvelle requête {query}",
        "trends": "Tendances",
        "days": "jours",
        "per_day": "Mentions par jour et par ton",
        "share_of_voice": "Part de voix",
        "share_help": "Cochez votre marque et ses concurrents pour les comparer.",
        "top_publishers": "Sites les plus actifs",
        "spike": "pic",
        "mentions_n": "{n} mentions",
        "no_data": "Pas de données sur la période.",
        "show": "Afficher",
        "compare": "Veilles comparées",
        "watches": "Veilles",
        "new_watch": "Nouvelle veille",
        "name": "Nom",
        "query": "Requête",
        "languages": "Langues",
        "regions": "Régions",
        "fuzzy": "Tolérer une faute de frappe dans les mots longs",
        "tags": "Groupes d'étiquettes",
        "tags_help": "une ligne par groupe : groupe=mot,mot",
        "save": "Enregistrer",
        "delete": "Supprimer",
        "edit": "Modifier",
        "created": "Créée",
        "preview": "Aperçu sur les articles déjà reçus",
        "preview_matches": "{matched} articles trouvés sur {scanned}",
        "query_error": "Erreur dans la requête, colonne {column} : {problem}",
        "saved": "Enregistré.",
        "deleted": "Supprimé.",
        "groups": "Groupes comparés",
        "groups_help": "Un groupe compare votre marque à ses concurrents : les tendances montrent sa part de voix.",
        "group_name": "Nom du groupe",
        "brand": "Votre marque",
        "competitors": "Concurrents",
        "new_group": "Nouveau groupe",
        "no_groups": "Aucun groupe enregistré.",
        "group_needs_watches": "Il faut au moins deux veilles pour comparer.",
        "manage_groups": "Gérer les groupes",
        "group": "Groupe",
        "your_share": "Votre part : {percent} %",
        "share_no_group": "Enregistrez un groupe « votre marque contre vos concurrents » pour suivre sa part de voix ;"
        " en attendant, les veilles cochées sont comparées.",
        "role_brand": "votre marque",
        "role_competitor": "concurrent",
        "stories_n": "{n} sujets",
        "confirm_delete": "Supprimer définitivement ?",
        "mentions_count": "mentions",
        "sources": "Sources",
        "add_feed": "Ajouter un flux",
        "url": "Adresse",
        "interval": "Intervalle",
        "add": "Ajouter",
        "health": "État",
        "last_error": "Dernière erreur",
        "items": "articles",
        "reenable": "Réactiver",
        "remove": "Retirer",
        "add_search": "Ajouter les flux de recherche d'une veille",
        "providers": "Fournisseurs",
        "discover": "Trouver les flux d'un site",
        "discover_none": "Aucun flux annoncé par {url}.",
        "found_feeds": "Flux trouvés",
        "health_ok": "Fonctionne, dernier succès {when}",
        "health_never": "Pas encore interrogée",
        "health_failing": "En échec ({n} fois de suite) : {why}",
        "health_broken": "En panne ({n} échecs de suite) : {why}",
        "health_disabled": "Désactivée",
        "next_check": "prochain passage {when}",
        "search_feed_of": "recherche pour {watch}",
        "recipients": "Destinataires",
        "add_recipient": "Ajouter un destinataire",
        "email": "Adresse e-mail",
        "frequency": "Fréquence",
        "instant": "immédiate",
        "daily": "quotidienne",
        "weekly": "hebdomadaire",
        "at": "Heure",
        "timezone": "Fuseau",
        "weekday": "Jour",
        "min_sentiment": "Ton minimal",
        "all_sentiments": "tous",
        "channels": "Autres canaux (URL Apprise, une par ligne)",
        "followed": "Veilles suivies (aucune : toutes)",
        "locale": "Langue des e-mails",
        "send_empty": "Envoyer même sans nouveauté",
        "acts": "Journal des actions",
        "act_irrelevant": "hors sujet",
        "act_star": "favori",
        "act_mute": "site masqué",
        "act_exclude": "exclusion",
        "by": "par",
        "undone": "annulée le {when} par {who}",
        "no_acts": "Aucune action pour l'instant.",
        "login": "Connexion",
        "password": "Mot de passe",
        "your_name": "Votre nom (pour le journal)",
        "sign_in": "Se connecter",
        "bad_password": "Mot de passe incorrect.",
        "too_many": "Trop d'essais : réessayez dans {seconds} secondes.",
        "unsubscribe": "Se désabonner",
        "unsubscribe_confirm": "Ne plus recevoir les e-mails d'erepwatch à {email} ?",
        "unsubscribed": "C'est fait : {email} ne recevra plus d'e-mails d'erepwatch.",
        "already_unsubscribed": "{email} ne reçoit déjà plus d'e-mails d'erepwatch.",
        "error": "Erreur",
        "not_found": "Page introuvable.",
        "forbidden": "Action refusée (formulaire expiré ?) : rechargez la page.",
        "time_zone": "Fuseau horaire",
        "local_times": "Heures affichées dans le fuseau {tz}",
        "prev": "précédent",
        "everything": "tout",
    },
    "en": {
        "nav_mentions": "Mentions",
        "nav_trends": "Trends",
        "nav_watches": "Watches",
        "nav_sources": "Sources",
        "nav_recipients": "Recipients",
        "nav_acts": "Journal",
        "logout": "Log out",
        "switch_lang": "Français",
        "skip": "Skip to content",
        "filters": "Filters",
        "all_watches": "All watches",
        "any_sentiment": "Any sentiment",
        "any_tag": "Any tag",
        "any_source": "Any site",
        "any_lang": "Any language",
        "from": "From",
        "to": "to",
        "starred_only": "Starred only",
        "hidden_only": "Hidden only",
        "search": "Search",
        "search_placeholder": "words in the title or text",
        "apply": "Filter",
        "reset": "Clear filters",
        "no_mentions": "No mention for these filters.",
        "no_mentions_yet": "No mention yet: add a watch and some sources.",
        "next_page": "Next page →",
        "first_page": "← First page",
        "positive": "positive",
        "negative": "negative",
        "neutral": "neutral",
        "why": "why",
        "more_sources": "+{n} sources",
        "more_source": "+1 source",
        "also_in": "Also published by",
        "star": "Star",
        "unstar": "Unstar",
        "irrelevant": "Irrelevant",
        "relevant_again": "Restore",
        "mute": "Mute {domain} for {watch}",
        "starred": "starred",
        "watch": "Watch",
        "sentiment": "Sentiment",
        "tag": "Tag",
        "source": "Site",
        "language": "Language",
        "published": "Published",
        "feed_of": "Atom feed of {name}",
        "feed_all": "Atom feed of everything",
        "marked_irrelevant": "Mention marked irrelevant: it leaves lists, digests, alerts and trends.",
        "undo": "Undo",
        "suggestion": "Suggested exclusion",
        "suggest_word": "Add {term} to the query of {watch}",
        "suggest_none": "No word separates this mention from the relevant ones; mute its site instead.",
        "preview_before": "Today the query finds {n} articles over 30 days.",
        "preview_after": "With the exclusion: {n} articles ({diff} fewer).",
        "preview_drops_it": "This mention would no longer be found.",
        "preview_keeps_it": "This mention would still be found.",
        "apply_exclusion": "Apply the exclusion",
        "back_to_list": "Back to the list",
        "exclusion_applied": "Exclusion applied: new query {query}",
        "trends": "Trends",
        "days": "days",
        "per_day": "Mentions per day by sentiment",
        "share_of_voice": "Share of voice",
        "share_help": "Tick your brand and its competitors to compare them.",
        "top_publishers": "Most active sites",
        "spike": "spike",
        "mentions_n": "{n} mentions",
        "no_data": "No data over the period.",
        "show": "Show",
        "compare": "Watches compared",
        "watches": "Watches",
        "new_watch": "New watch",
        "name": "Name",
        "query": "Query",
        "languages": "Languages",
        "regions": "Regions",
        "fuzzy": "Tolerate a typo in long words",
        "tags": "Tag groups",
        "tags_help": "one line per group: group=word,word",
        "save": "Save",
        "delete": "Delete",
        "edit": "Edit",
        "created": "Created",
        "preview": "Preview over the articles already received",
        "preview_matches": "{matched} articles found out of {scanned}",
        "query_error": "Query error at column {column}: {problem}",
        "saved": "Saved.",
        "deleted": "Deleted.",
        "groups": "Compared groups",
        "groups_help": "A group compares your brand with its competitors: the trends show its share of voice.",
        "group_name": "Group name",
        "brand": "Your brand",
        "competitors": "Competitors",
        "new_group": "New group",
        "no_groups": "No saved group yet.",
        "group_needs_watches": "Comparing takes at least two watches.",
        "manage_groups": "Manage groups",
        "group": "Group",
        "your_share": "Your share: {percent} %",
        "share_no_group": 'Save a "your brand vs competitors" group to follow its share of voice;'
        " meanwhile the ticked watches are compared.",
        "role_brand": "your brand",
        "role_competitor": "competitor",
        "stories_n": "{n} stories",
        "confirm_delete": "Delete for good?",
        "mentions_count": "mentions",
        "sources": "Sources",
        "add_feed": "Add a feed",
        "url": "URL",
        "interval": "Interval",
        "add": "Add",
        "health": "Health",
        "last_error": "Last error",
        "items": "articles",
        "reenable": "Re-enable",
        "remove": "Remove",
        "add_search": "Add the search feeds of a watch",
        "providers": "Providers",
        "discover": "Find a site's feeds",
        "discover_none": "No feed announced by {url}.",
        "found_feeds": "Feeds found",
        "health_ok": "Working, last success {when}",
        "health_never": "Not polled yet",
        "health_failing": "Failing ({n} times in a row): {why}",
        "health_broken": "Broken ({n} failures in a row): {why}",
        "health_disabled": "Disabled",
        "next_check": "next check {when}",
        "search_feed_of": "search for {watch}",
        "recipients": "Recipients",
        "add_recipient": "Add a recipient",
        "email": "E-mail address",
        "frequency": "Frequency",
        "instant": "instant",
        "daily": "daily",
        "weekly": "weekly",
        "at": "Time",
        "timezone": "Time zone",
        "weekday": "Day",
        "min_sentiment": "Minimum sentiment",
        "all_sentiments": "all",
        "channels": "Other channels (Apprise URLs, one per line)",
        "followed": "Watches followed (none: all)",
        "locale": "Language of the e-mails",
        "send_empty": "Send even when nothing is new",
        "acts": "Journal of actions",
        "act_irrelevant": "irrelevant",
        "act_star": "star",
        "act_mute": "site muted",
        "act_exclude": "exclusion",
        "by": "by",
        "undone": "undone on {when} by {who}",
        "no_acts": "No action yet.",
        "login": "Log in",
        "password": "Password",
        "your_name": "Your name (for the journal)",
        "sign_in": "Log in",
        "bad_password": "Wrong password.",
        "too_many": "Too many attempts: try again in {seconds} seconds.",
        "unsubscribe": "Unsubscribe",
        "unsubscribe_confirm": "Stop erepwatch e-mails to {email}?",
        "unsubscribed": "Done: {email} will no longer receive erepwatch e-mails.",
        "already_unsubscribed": "{email} already receives no erepwatch e-mail.",
        "error": "Error",
        "not_found": "Page not found.",
        "forbidden": "Action refused (form expired?): reload the page.",
        "time_zone": "Time zone",
        "local_times": "Times shown in the {tz} time zone",
        "prev": "previous",
        "everything": "everything",
    },
}

ERROR_WORDS: dict[str, dict[str, str]] = {
    "fr": {
        "timeout": "le site ne répond pas à temps",
        "network": "le site est injoignable",
        "tls": "certificat HTTPS invalide",
        "http_4xx": "l'adresse est refusée ou n'existe plus",
        "http_429": "le site demande de ralentir",
        "http_5xx": "le site est en panne",
        "too_large": "le flux est trop gros",
        "empty": "le flux est vide",
        "not_a_feed": "ce n'est pas un flux",
        "parse": "le flux est illisible",
        "forbidden_address": "adresse interne refusée",
    },
    "en": {
        "timeout": "the site does not answer in time",
        "network": "the site cannot be reached",
        "tls": "invalid HTTPS certificate",
        "http_4xx": "the address is refused or gone",
        "http_429": "the site asks to slow down",
        "http_5xx": "the site is down",
        "too_large": "the feed is too large",
        "empty": "the feed is empty",
        "not_a_feed": "this is not a feed",
        "parse": "the feed cannot be read",
        "forbidden_address": "internal address refused",
    },
}

_MONTHS = {
    "fr": ["janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.", "nov.", "déc."],
    "en": ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"],
}


def negotiate(cookie: str | None, accept_language: str | None) -> str:
    """The page's language: the switch's cookie, else the first supported language of the browser, else French."""
    if cookie in LOCALES:
        return str(cookie)
    ranked: list[tuple[float, int, str]] = []
    for i, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        ranked.append((-quality, i, tag.strip().lower().split("-")[0]))
    for quality, _, lang in sorted(ranked):
        if quality < 0 and lang in LOCALES:
            return lang
    return DEFAULT_LOCALE


def zone(name: str | None) -> str:
    """A valid IANA zone name, or the default."""
    if name:
        try:
            ZoneInfo(name)
            return name
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return DEFAULT_TZ


@dataclass(frozen=True, slots=True)
class Translator:
    locale: str
    tz: str

    def __call__(self, key: str, **values: object) -> str:
        text = STRINGS[self.locale].get(key) or STRINGS[DEFAULT_LOCALE].get(key, key)
        return text.format(**values) if values else text

    def error(self, kind: str | None) -> str:
        return ERROR_WORDS[self.locale].get(kind or "", kind or "?")

    def local(self, moment: datetime) -> datetime:
        return moment.astimezone(ZoneInfo(self.tz))

    def when(self, moment: datetime | None, now: datetime | None = None) -> str:
        """``6 déc. 14:05`` / ``Dec 6, 14:05`` in the reader's zone, with the year when it is not this year's."""
        if moment is None:
            return "—"
        local = self.local(moment)
        year = "" if now is not None and self.local(now).year == local.year else f" {local.year}"
        month = _MONTHS[self.locale][local.month - 1]
        if self.locale == "fr":
            return f"{local.day} {month}{year} {local:%H:%M}"
        return f"{month} {local.day}{',' + year if year else ''}, {local:%H:%M}"

    def day(self, moment: date | datetime) -> str:
        local = self.local(moment) if isinstance(moment, datetime) else moment
        month = _MONTHS[self.locale][local.month - 1]
        return f"{local.day} {month}" if self.locale == "fr" else f"{month} {local.day}"
