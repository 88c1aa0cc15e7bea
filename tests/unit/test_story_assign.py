"""The pure decisions of the semantic story stage (analyze.stories): which older story a founder joins, and why not."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from erepwatch.analyze.stories import (
    LEAD_CUT,
    LEAD_TITLE_FLOOR,
    MERGE_GAP,
    Assignment,
    JoinReason,
    StoryProbe,
    assign_semantic,
    lead_key,
    lead_text,
    semantic_score,
    semantic_split,
)

T0 = datetime(2026, 2, 18, 12, 0, tzinfo=UTC)


def _unit(*coords: float) -> np.ndarray:
    v = np.zeros(384, dtype=np.float32)
    v[: len(coords)] = coords
    return v / np.linalg.norm(v)


def _at(cosine: float, base: np.ndarray, other_axis: int) -> np.ndarray:
    """A unit vector whose cosine with ``base`` (a unit basis vector) is ``cosine``."""
    v = cosine * base
    v[other_axis] += np.sqrt(1 - cosine**2)
    return v.astype(np.float32)


def _probe(mention_id: int, title: str, vector: np.ndarray, **kw: object) -> StoryProbe:
    return StoryProbe(mention_id, 1, T0 + timedelta(minutes=mention_id), title, vector, **kw)  # type: ignore[arg-type]


TITLES = (
    "Acme recalls its kettles after a fire in a small flat, the company says",
    "Acme kettles recalled over fire risk, the consumer regulator says",
    "Acme pulls kettles from shops after fire risk is found in the model",
)


def test_a_story_is_found_through_a_member_already_folded_into_it() -> None:
    a = _unit(1)
    c = _at(0.94, a, 1)  # C joined A's story earlier
    b = _at(0.96, c / np.linalg.norm(c), 2)  # B is close to C, far from A
    assert float(a @ b) < 0.93 < float(c @ b)
    founders = [_probe(1, TITLES[0], a), _probe(2, TITLES[1], c, story_id=1)]
    [joined] = assign_semantic([_probe(3, TITLES[2], b)], founders)
    assert (joined.cluster_id, joined.matched_id, joined.reason) == (1, 2, JoinReason.SEMANTIC)


def test_without_the_member_the_story_is_missed() -> None:
    a = _unit(1)
    c = _at(0.94, a, 1)
    b = _at(0.96, c / np.linalg.norm(c), 2)
    assert assign_semantic([_probe(3, TITLES[2], b)], [_probe(1, TITLES[0], a)]) == []


def test_the_lead_decides_when_the_headlines_are_apart() -> None:
    a, b = _unit(1), _at(0.90, _unit(1), 1)  # headlines below any cut
    la, lb = _unit(0, 0, 1), _at(LEAD_CUT + 0.01, _unit(0, 0, 1), 3)
    [joined] = assign_semantic([_probe(2, TITLES[1], b, lead_vector=lb)], [_probe(1, TITLES[0], a, lead_vector=la)])
    assert joined.cluster_id == 1 and joined.score == pytest.approx(LEAD_CUT + 0.01, abs=1e-3)
    assert assign_semantic([_probe(2, TITLES[1], b)], [_probe(1, TITLES[0], a, lead_vector=la)]) == []


def test_a_shared_boilerplate_lead_is_no_evidence() -> None:
    """Two different headlines under the feed's one tagline: their headline + lead embeddings are close because
    of the tagline only; the lead cosine is ignored and each stays its own story."""
    a, b = _unit(1), _at(0.90, _unit(1), 1)  # headlines below the cut, above LEAD_TITLE_FLOOR
    same = _unit(0, 0, 1)
    tagline = lead_key("La société Acme, café crème et naïveté, en parle.")
    founders = [_probe(1, TITLES[0], a, lead_vector=same, lead_key=tagline)]
    assert assign_semantic([_probe(2, TITLES[1], b, lead_vector=same, lead_key=tagline)], founders) == []
    # The same vectors under leads that differ: the lead is evidence again.
    other = lead_key("Le régulateur demande le rappel des bouilloires Acme.")
    [joined] = assign_semantic([_probe(2, TITLES[1], b, lead_vector=same, lead_key=other)], founders)
    assert joined.cluster_id == 1 and joined.reason is JoinReason.SEMANTIC


def test_an_older_story_never_joins_a_newer_one() -> None:
    a, b = _unit(1), _at(0.99, _unit(1), 1)
    assert assign_semantic([_probe(1, TITLES[0], a)], [_probe(2, TITLES[1], b)]) == []


def test_a_story_is_not_joined_when_another_member_splits_from_it() -> None:
    """B is close to C, which joined A's story; but A gives another figure than B: B does not join through C."""
    a = _unit(1)
    c = _at(0.95, a, 1)
    b = _at(0.96, c / np.linalg.norm(c), 2)
    founders = [
        _probe(1, "Acme recalls 12,000 kettles after a fire in a flat", a),
        _probe(2, "Acme pulls its kettles from shops after a fire risk is found", c, story_id=1),
    ]
    newer = "Acme recalls 57,000 kettles after a fire in a flat"
    assert assign_semantic([_probe(3, newer, b)], founders) == []
    # Without A's figure, nothing splits: B joins the story through C.
    founders[0] = _probe(1, "Acme recalls kettles after a fire in a flat", a)
    [joined] = assign_semantic([_probe(3, newer, b)], founders)
    assert (joined.cluster_id, joined.matched_id) == (1, 2)


def test_one_member_of_a_larger_story_does_not_keep_a_report_out() -> None:
    """A story of four reports: one of them gives a figure the newcomer lacks ("58"), the other two agree with it.
    At least half of the other members must split from the newcomer to keep it out."""
    a = _unit(1)
    c = _at(0.95, a, 1)
    b = _at(0.96, c / np.linalg.norm(c), 2)
    founders = [
        _probe(1, "Metro-North worker struck and killed by a train in Harlem", a),
        _probe(2, "Metro-North worker killed after being struck by a Harlem line train", c, story_id=1),
        _probe(4, "Metro-North worker, 58, killed by a Harlem line train on the tracks", _unit(0, 0, 0, 1), story_id=1),
        _probe(5, "Harlem: a Metro-North worker is struck and killed by a train", _unit(0, 0, 0, 0, 1), story_id=1),
    ]
    newer = "Metro-North track worker struck by a Harlem line train and killed, 12 hurt"
    [joined] = assign_semantic([_probe(6, newer, b)], founders)
    assert (joined.cluster_id, joined.matched_id) == (1, 2)
    # When half of the others give another figure, it stays out.
    founders[3] = _probe(5, "Metro-North worker, 61, killed by a Harlem line train", _unit(0, 0, 0, 0, 1), story_id=1)
    assert assign_semantic([_probe(6, newer, b)], founders) == []


def test_names_do_not_veto_across_languages() -> None:
    """A member in another language spells the names its own way ("US" / "États-Unis"): it does not veto."""
    a = _unit(1)
    c = _at(0.95, a, 1)
    b = _at(0.96, c / np.linalg.norm(c), 2)
    founders = [
        _probe(1, "Iran says the principles were agreed with US negotiators", a, language="en"),
        _probe(2, "US and Iran agree on guiding principles in Geneva nuclear talks", c, language="en", story_id=1),
    ]
    french = "Nucléaire : l'Iran et les États-Unis d'accord sur des principes à Genève"
    [joined] = assign_semantic([_probe(3, french, b, language="fr")], founders)
    assert joined.cluster_id == 1
    # In one language, a member naming someone the newcomer does not is a veto.
    english = "Iran and Russia agree on guiding principles in Geneva nuclear talks"
    assert assign_semantic([_probe(3, english, b, language="en")], founders) == []


@pytest.mark.parametrize(
    ("a", "b", "why"),
    [
        ("Pas-de-Calais : 57 migrants secourus en mer", "Pas-de-Calais : 12 migrants secourus en mer", "figures"),
        ("Crash du Boeing 737 en Iran : l'enquête commence", "Crash du Boeing en Iran : l'enquête commence", ""),
        ("Gorron. Ouest-France cherche un correspondant", "Chauché. Ouest-France cherche un correspondant", "places"),
        # A town's local news against a national headline that does not name the town; named, it may be one story.
        ("Narbonne. Les conséquences de la réforme sur leur retraite", "Réforme des retraites : la sortie ?", "places"),
        ("AS Saint-Etienne. Deux matches à huis clos", "Fumigènes : Saint-Etienne s'en sort avec un match", ""),
        ("Le maire de Fréjus, David Racheline, sera jugé", "Le maire de Fréjus, David Rachline, convoqué", ""),
        ("Météo à Angers pour vendredi matin", "Météo à Nancy pour vendredi matin", "names"),
        # One name spelt two ways: "MtGox" / "Mt. Gox", "US" / "U.S."; a one-letter name is still one.
        ("Hackers claim MtGox still has stolen bitcoins", "Hackers call Mt. Gox CEO a liar over bitcoins", ""),
        ("Iran says a deal was agreed with US at talks", "Iran calls talks with U.S. useful, Trump waits", ""),
        ("Acme launches the phone A", "Acme launches the phone B", "names"),
        # A first name, or a city before its rail line, with a name the other mentions is that name given in full.
        (
            "Le président Emmanuel Macron annonce un fonds pour l'IA",
            "Le président Macron annonce un fonds en France",
            "",
        ),
        ("New York Metro-North worker struck by train", "Metro-North worker struck by train to Poughkeepsie", ""),
        (
            "Les orages frappent Angers et Nancy dans la nuit",
            "Les orages frappent Nancy et Tours dans la nuit",
            "names",
        ),
        # A place label is named by one of its own words, not by its article nor by a word that starts like it.
        ("La Salvetat-Peyralès. Les pompiers bien formés", "Les pompiers connaissent la musique", "places"),
        (
            "Villers-Bocage. Le personnel communal distingué",
            "Cérémonie pour le personnel communal de Villemolaque",
            "places",
        ),
        ("Acme boss acquitted of fraud charges", "Acme boss faces fraud charges in court", "follow_up"),
        ("Horoscope du samedi 14 mars 2026", "Météo Nancy : Prévisions du samedi 14 mars 2026", "series"),
        ("The 10 best phones of the year", "The 10 worst phones of the year", "opposites"),
    ],
)
def test_guards(a: str, b: str, why: str) -> None:
    assert semantic_split(a, b) == why


def test_lead_text_skips_a_lead_that_repeats_the_headline() -> None:
    assert lead_text("Acme recalls kettles", "Acme recalls kettles") == ""
    assert lead_text("Acme recalls kettles", "") == ""
    text = lead_text("VIDÉO. Acme recalls kettles", "The company said on Monday that " + "x" * 300)
    assert text.startswith("Acme recalls kettles. The company said") and len(text) < 200


def test_a_lead_does_not_overrule_distant_headlines() -> None:
    """Two leads about one case read alike whatever the event: below LEAD_TITLE_FLOOR the headlines decide."""
    a, b = "Meurtre de Louise, 11 ans", "Meurtre de Louise : la famille et les proches sous le choc"
    assert semantic_score(a, b, LEAD_TITLE_FLOOR - 0.01, 0.95) is None
    assert semantic_score(a, b, LEAD_TITLE_FLOOR, 0.95) == 0.95


def test_semantic_score_uses_the_lower_cut_across_languages() -> None:
    a, b = "Nucléaire : accord entre l'Iran et les États-Unis à Genève", "Iran and US agree in Geneva nuclear talks"
    assert semantic_score(a, b, 0.915) is None
    assert semantic_score(a, b, 0.915, None, "fr", "en") == 0.915


def _bridge() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Two wordings of one story far apart (0.88: two stories formed) and a third close to both (0.97)."""
    a = _unit(1)
    b = _at(0.88, a, 1)
    c = (a + b) / np.linalg.norm(a + b)
    assert float(a @ b) < 0.92 < min(float(a @ c), float(b @ c))
    return a, b, c.astype(np.float32)


MERGE_TITLES = (
    "MTA Worker Killed by Hudson Line Train",
    "Death of Metro-North worker on tracks renews safety concerns",
    "Metro-North worker killed by train",
)


def test_a_report_of_two_stories_merges_the_younger_into_the_older() -> None:
    """Two stories of one event formed apart (two wordings, no report linking them); a third report joins both: the
    younger story is merged into the older, which keeps its id, and records the report that linked them."""
    a, b, c = _bridge()
    founders = [_probe(1, MERGE_TITLES[0], a), _probe(2, MERGE_TITLES[1], b)]
    assert assign_semantic(founders[1:], founders, merge=True) == [], "apart at first: two stories"
    out = assign_semantic([_probe(3, MERGE_TITLES[2], c)], founders, merge=True)
    by_id = {x.mention_id: x for x in out}
    assert by_id[3].reason is JoinReason.SEMANTIC and by_id[3].cluster_id == 1
    assert (by_id[2].reason, by_id[2].cluster_id, by_id[2].matched_id) == (JoinReason.MERGED, 1, 3)
    assert by_id[2].score is not None and by_id[2].score > 0.92


def test_a_founder_that_joined_the_younger_story_follows_it_into_the_older() -> None:
    """The report is closest to the younger story: it joins it, then that story merges into the older one, and
    every assignment of the run names the older story (the stage applies them in any order)."""
    a, b, c = _bridge()
    d = _at(0.99, b, 3)  # a fourth wording, next to the younger story's founder, folded into it earlier
    founders = [_probe(1, MERGE_TITLES[0], a), _probe(2, MERGE_TITLES[1], b), _probe(4, MERGE_TITLES[1], d)]
    out = assign_semantic(
        [founders[2], _probe(5, MERGE_TITLES[2], c)], [*founders, _probe(5, MERGE_TITLES[2], c)], merge=True
    )
    assert {x.mention_id: (x.cluster_id, x.reason) for x in out} == {
        4: (1, JoinReason.SEMANTIC),
        5: (1, JoinReason.SEMANTIC),
        2: (1, JoinReason.MERGED),
    }


def test_stories_kept_apart_by_any_pair_of_members_are_not_merged() -> None:
    """A merge joins every member of two stories at once: one pair of them that a guard splits keeps them apart
    (here a figure each, which the report linking them does not give)."""
    a, b, c = _bridge()
    founders = [
        _probe(1, "MTA worker, 58, killed by Hudson line train", a),
        _probe(2, "Death of Metro-North worker, 61, renews safety concerns", b),
    ]
    [joined] = assign_semantic([_probe(3, MERGE_TITLES[2], c)], founders, merge=True)
    assert (joined.mention_id, joined.cluster_id, joined.reason) == (3, 1, JoinReason.SEMANTIC)


def test_angles_under_one_topic_label_are_not_merged() -> None:
    """Two stories whose members share a topic label and differ after it (two angles of one subject) stay apart
    even when one report is close to both."""
    a, b, c = _bridge()
    rest_a, rest_b = _unit(0, 0, 0, 0, 1), _at(0.80, _unit(0, 0, 0, 0, 1), 5)
    founders = [
        _probe(1, "Crash du Boeing en Iran : les Etats-Unis vont prendre part à l'enquête", a, rest_vector=rest_a),
        _probe(2, "Crash du Boeing en Iran : pourquoi la piste du missile est privilégiée", b, rest_vector=rest_b),
    ]
    [joined] = assign_semantic(
        [_probe(3, "Crash d'un Boeing en Iran, les questions qui demeurent", c)], founders, merge=True
    )
    assert (joined.mention_id, joined.cluster_id) == (3, 1)


VERDICT = (
    "Acme boss faces fraud charges in Paris court",  # the trial: the story the verdict follows up
    "Acme boss acquitted of fraud charges by Paris court",
    "Acme boss acquitted, the fraud case ends",
    "Acme boss acquitted of fraud",
)


def test_a_merged_follow_up_story_carries_its_link_to_the_older_story() -> None:
    """Two wordings of a verdict formed two stories; the younger had been linked to the trial as its follow-up. A
    report of both merges them: the younger founder's record says how it was merged, and the link moves to the
    surviving story's founder, so the verdict's story still leads to the trial's."""
    a, b, c = _bridge()
    trial = _probe(1, VERDICT[0], _unit(0, 0, 0, 0, 0, 1))
    founders = [trial, _probe(2, VERDICT[1], a), _probe(3, VERDICT[2], b, follows=1, follow_score=0.9312)]
    out = {x.mention_id: x for x in assign_semantic([_probe(4, VERDICT[3], c)], founders, merge=True)}
    assert (out[4].reason, out[4].cluster_id) == (JoinReason.SEMANTIC, 2)
    assert (out[3].reason, out[3].cluster_id, out[3].matched_id) == (JoinReason.MERGED, 2, 4)
    assert out[2] == Assignment(2, 2, JoinReason.FOLLOW_UP, 0.9312, 1), "the link, carried to the survivor"


def test_a_story_that_has_its_own_link_to_the_same_story_keeps_it() -> None:
    a, b, c = _bridge()
    trial = _probe(1, VERDICT[0], _unit(0, 0, 0, 0, 0, 1))
    founders = [
        trial,
        _probe(2, VERDICT[1], a, follows=1, follow_score=0.95),
        _probe(3, VERDICT[2], b, follows=1, follow_score=0.93),
    ]
    out = {x.mention_id: x for x in assign_semantic([_probe(4, VERDICT[3], c)], founders, merge=True)}
    assert out[3].reason is JoinReason.MERGED and 2 not in out, "its own link stays as it was"


def test_stories_that_follow_up_two_different_stories_are_not_merged() -> None:
    """Each link is kept: two stories linked to two different earlier stories stay two."""
    a, b, c = _bridge()
    founders = [
        _probe(1, VERDICT[0], _unit(0, 0, 0, 0, 0, 1)),
        _probe(2, "Acme boss faces a second fraud case in Paris court", _unit(0, 0, 0, 0, 0, 0, 1)),
        _probe(3, VERDICT[1], a, follows=1, follow_score=0.93),
        _probe(4, VERDICT[2], b, follows=2, follow_score=0.93),
    ]
    [joined] = assign_semantic([_probe(5, VERDICT[3], c)], founders, merge=True)
    assert (joined.mention_id, joined.cluster_id, joined.reason) == (5, 3, JoinReason.SEMANTIC)


def test_a_follow_up_is_never_merged_with_the_story_it_follows() -> None:
    """A story linked as the follow-up of another stays apart from it, even when a report (here without the words
    that make a follow-up) seems to link the two: the link is the stage's own earlier decision."""
    a, b, c = _bridge()
    founders = [_probe(1, MERGE_TITLES[0], a), _probe(2, MERGE_TITLES[1], b, follows=1, follow_score=0.93)]
    [joined] = assign_semantic([_probe(3, MERGE_TITLES[2], c)], founders, merge=True)
    assert (joined.mention_id, joined.cluster_id, joined.reason) == (3, 1, JoinReason.SEMANTIC)


def test_a_follow_up_decided_in_the_same_run_keeps_its_link_when_merged() -> None:
    """The link of a follow-up decided earlier in the same run moves to the survivor too."""
    a, b, c = _bridge()
    trial_vector = _at(0.94, b / np.linalg.norm(b), 6)  # the younger wording is close to the trial (0.94)
    assert float(trial_vector @ a) < 0.92 and float(trial_vector @ c) < 0.92
    founders = [_probe(1, VERDICT[0], trial_vector), _probe(2, VERDICT[1], a)]
    pending = [_probe(3, VERDICT[2], b), _probe(4, VERDICT[3], c)]
    out = {x.mention_id: x for x in assign_semantic(pending, [*founders, *pending], merge=True)}
    assert (out[3].reason, out[3].cluster_id, out[3].matched_id) == (JoinReason.MERGED, 2, 4)
    assert (out[2].reason, out[2].cluster_id, out[2].matched_id) == (JoinReason.FOLLOW_UP, 2, 1)
    assert out[2].score is not None and out[2].score >= 0.94 - 1e-4


@pytest.mark.parametrize("marked", [(True, False), (False, True)])
def test_a_story_marked_irrelevant_is_not_merged_with_one_that_is_not(marked: tuple[bool, bool]) -> None:
    """A person's mark says a story is off the watch's subject: the report joins the closer story and the two stay
    apart, each with its own mark, whichever of them was marked."""
    a, b, c = _bridge()
    founders = [
        _probe(1, MERGE_TITLES[0], a, irrelevant=marked[0]),
        _probe(2, MERGE_TITLES[1], b, irrelevant=marked[1]),
    ]
    [joined] = assign_semantic([_probe(3, MERGE_TITLES[2], c)], founders, merge=True)
    assert (joined.mention_id, joined.reason) == (3, JoinReason.SEMANTIC)


def test_two_stories_both_marked_irrelevant_are_merged() -> None:
    a, b, c = _bridge()
    founders = [_probe(1, MERGE_TITLES[0], a, irrelevant=True), _probe(2, MERGE_TITLES[1], b, irrelevant=True)]
    out = {x.mention_id: x for x in assign_semantic([_probe(3, MERGE_TITLES[2], c)], founders, merge=True)}
    assert (out[2].reason, out[2].cluster_id) == (JoinReason.MERGED, 1)


@pytest.mark.parametrize(("beyond", "merged"), [(-30, True), (30, False)])
def test_stories_are_merged_only_when_close_in_time(beyond: int, merged: bool) -> None:
    """A merge is for the fragments of one burst of reports: two stories with no members within MERGE_GAP of each
    other (each grew apart for hours) stay two, the report joining the closer one."""
    a, b, c = _bridge()
    at = T0 + timedelta(minutes=1) + MERGE_GAP + timedelta(minutes=beyond)
    founders = [_probe(1, MERGE_TITLES[0], a), StoryProbe(2, 1, at, MERGE_TITLES[1], b)]
    out = {
        x.mention_id: x.reason
        for x in assign_semantic([StoryProbe(3, 1, at, MERGE_TITLES[2], c)], founders, merge=True)
    }
    assert out == ({3: JoinReason.SEMANTIC, 2: JoinReason.MERGED} if merged else {3: JoinReason.SEMANTIC})


def test_merges_are_off_by_default() -> None:
    """Without ``merge`` (the setting analysis.merge_stories, off by default): the report joins one story, the other
    stays."""
    a, b, c = _bridge()
    founders = [_probe(1, MERGE_TITLES[0], a), _probe(2, MERGE_TITLES[1], b)]
    [joined] = assign_semantic([_probe(3, MERGE_TITLES[2], c)], founders)
    assert (joined.mention_id, joined.cluster_id, joined.reason) == (3, 1, JoinReason.SEMANTIC)
