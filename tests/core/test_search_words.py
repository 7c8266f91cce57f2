"""Typo correction against the vocabulary of indexed words (core.search.Vocabulary)."""
from __future__ import annotations

from webapp.core.base.transactions import write_transaction
from webapp.core.lists import search

#: A real-estate vocabulary: a few words among many house numbers.
NAMES = ["Maple Lane", "Willow Court", "Hillcrest Avenue", "Unit A10"] + [
    f"{n} Main" for n in range(4000, 4100)]


def vocabulary(session) -> search.Vocabulary:
    with write_transaction(session):
        search.add_words(session, NAMES)
    words = search.Vocabulary()
    words.load(session)
    return words


def test_misspelt_words_are_corrected_to_the_nearest_word_among_many_numbers(session):
    words = vocabulary(session)

    assert [words.correct(w) for w in ("mapel", "wllow", "hillcrestt", "lnae")] == \
        ["maple", "willow", "hillcrest", "lane"]


def test_numbers_and_words_with_digits_are_corrected_among_the_numbers_too(session):
    words = vocabulary(session)

    assert words.correct("40999") == "4099"  # not indexed: the nearest number
    assert words.correct("a100") == "a10"
    assert words.correct("4042") == "4042"  # indexed: as typed


def test_a_word_near_nothing_stays_as_typed(session):
    assert vocabulary(session).correct("zebra") == "zebra"
