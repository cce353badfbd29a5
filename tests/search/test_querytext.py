"""Reading the search box: words, "phrases", -excluded words, and junk that must not hurt."""
import pytest

from services.search.querytext import MAX_QUERY_CHARS, MAX_TERMS, clean, parse


def test_words_phrases_and_exclusions():
    parsed = parse('Pflege "gemeinschaftliches Wohnen" -Altmark Halle')
    assert parsed.words == ["Pflege", "Halle"]
    assert parsed.phrases == [["gemeinschaftliches", "Wohnen"]]
    assert parsed.excluded == ["Altmark"]
    assert parsed.positive_words() == ["Pflege", "Halle", "gemeinschaftliches", "Wohnen"]


def test_german_typographic_quotes_make_a_phrase():
    assert parse("„gemeinschaftliches Wohnen“").phrases == [["gemeinschaftliches", "Wohnen"]]


def test_an_unbalanced_quote_is_ignored():
    parsed = parse('Pflege "gemeinschaftliches Wohnen')
    assert parsed.words == ["Pflege", "gemeinschaftliches", "Wohnen"] and parsed.phrases == []
    assert parse('"""').empty


def test_a_quoted_single_word_is_a_word():
    assert parse('"Pflege"').words == ["Pflege"]


@pytest.mark.parametrize("junk", ["AND", "OR", "NOT", "-", "+", "*", ":", "~", "(", ")", "&&", "||", "--", "^"])
def test_lone_operators_are_ignored(junk):
    assert parse(junk).empty and parse(junk).excluded == []
    assert parse(f"Pflege {junk}").words == ["Pflege"]


def test_punctuation_around_words_is_stripped_but_inner_hyphens_stay():
    assert parse("(Pflege) Repair-Café! +Halle*").words == ["Pflege", "Repair-Café", "Halle"]


def test_control_characters_separate_words():
    assert parse("Pflege\x00heim\x1fAltmark\x7f").words == ["Pflege", "heim", "Altmark"]


def test_length_and_number_of_terms_are_capped():
    assert len(clean("x" * 10_000)) == MAX_QUERY_CHARS
    assert len(parse("Pflege " * 2_000).words) == MAX_TERMS
    assert parse("x" * 10_000).words == ["x" * MAX_QUERY_CHARS]


@pytest.mark.parametrize("value", [None, 42, "", "   ", "\u200b", "🙂🙂"])
def test_odd_values_never_raise(value):
    parsed = parse(value)
    assert isinstance(parsed.words, list)


def test_only_exclusions_is_empty_but_keeps_them():
    parsed = parse("-Pflege")
    assert parsed.empty and parsed.excluded == ["Pflege"]
