"""German word forms and highlighting (no index needed)."""
from services.search import analysis
from services.search.querytext import parse


def test_umlauts_are_spelt_out_both_ways():
    assert analysis.normalize("Ärzte Größe ÜBER Straße") == "aerzte groesse ueber strasse"
    assert analysis.stems("Ärzte") == analysis.stems("Aerzte") == analysis.stems("aerzte")
    assert analysis.stems("Dorfläden") == analysis.stems("Dorfladen")


def test_plurals_share_the_stem():
    assert analysis.stems("Genossenschaften") == analysis.stems("Genossenschaft")
    assert analysis.stems("Pflegekräfte") == analysis.stems("Pflegekraft")


def test_words_are_split_on_punctuation_and_accents_folded():
    assert analysis.words("Repair-Café") == ("repair", "cafe")
    assert analysis.stems("Repair-Café") == analysis.stems("repair cafe")


def test_compound_parts_and_typo_distances():
    assert analysis.compound_parts("Pflege") == ("pflege", "pfleg")
    assert analysis.compound_parts("Bus") == ()
    assert [analysis.fuzzy_distance(w) for w in ("Haus", "Pflege", "Pflegeheim", "Genossenschaft")] == [0, 1, 1, 2]


def test_inner_suffixes_start_inside_words_and_hold_a_part_and_a_letter():
    suffixes = analysis.inner_suffixes("altenpflegeheim im haus", "altenpflegeheim", "pflege")
    assert suffixes.split() == ["ltenpflegeheim", "tenpflegeheim", "enpflegeheim", "npflegeheim",
                                "pflegeheim", "flegeheim", "legeheim", "egeheim", "geheim", "eheim", "flege"]
    assert analysis.inner_suffixes("", "haus") == ""
    assert analysis.infix_parts("Pflege") == ("pflege",)     # not the stem "pfleg"
    assert analysis.infix_parts("Bus") == ()


def test_highlight_marks_words_with_the_query_word_inside():
    matcher = analysis.Matcher.for_query(parse("Pflege"))
    html = analysis.highlight("Altenpflegeheim, Verpflegung und Pflege", matcher, whole=True)
    assert html == "<mark>Altenpflegeheim</mark>, Verpflegung und <mark>Pflege</mark>"


def test_within_distance_counts_a_transposition_as_one():
    assert analysis.within_distance("pflege", "plfege", 1)
    assert analysis.within_distance("dorfladen", "dorfladn", 1)
    assert not analysis.within_distance("dorfladen", "dorfla", 2)
    assert not analysis.within_distance("wohnen", "wohnung", 1)


def test_highlight_marks_original_words_for_every_kind_of_match():
    matcher = analysis.Matcher.for_query(parse("Aerzte Pflege Genosenschaft"))
    html = analysis.highlight("Ärzte, Altenpflege & Pflegeheim der Genossenschaften <eG>", matcher, whole=True)
    assert html == ("<mark>Ärzte</mark>, <mark>Altenpflege</mark> &amp; <mark>Pflegeheim</mark> der "
                    "<mark>Genossenschaften</mark> &lt;eG&gt;")


def test_highlight_returns_none_without_a_hit_or_a_query():
    assert analysis.highlight("Dorfladen", analysis.Matcher.for_query(parse("Pflege"))) is None
    assert analysis.highlight("Dorfladen", analysis.Matcher.for_query(parse(""))) is None
    assert analysis.highlight(None, analysis.Matcher.for_query(parse("Pflege"))) is None


def test_snippet_is_cut_around_the_first_hit():
    text = "Anfang " + "viel Text dazwischen " * 30 + "hier ist die Pflege wichtig " + "und danach mehr " * 30
    snippet = analysis.highlight(text, analysis.Matcher.for_query(parse("Pflege")))
    assert snippet.startswith("…") and snippet.endswith("…")
    assert "<mark>Pflege</mark>" in snippet
    assert len(snippet.replace("<mark>", "").replace("</mark>", "")) <= analysis.SNIPPET_CHARS + 2


def test_phrase_words_are_marked():
    matcher = analysis.Matcher.for_query(parse('"gemeinschaftliches Wohnen"'))
    assert analysis.highlight("Gemeinschaftliches Wohnen in Halle", matcher, whole=True) == (
        "<mark>Gemeinschaftliches</mark> <mark>Wohnen</mark> in Halle")
