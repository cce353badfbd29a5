"""German text analysis: the word forms that are indexed and searched, and highlighting.

Two forms of every word, produced the same way for documents and for queries:

* ``stem``: umlauts spelt out (ä→ae, ö→oe, ü→ue, ß→ss, so "Ärzte" and "Aerzte" meet),
  lowercased, accents folded, German snowball stem ("Genossenschaften" → "genossenschaft").
* ``word``: the same without stemming; used for compound parts ("pflege" at the start of
  "pflegeheim", at the end of "altenpflege", and — in titles, summaries and tags only —
  in the middle of "altenpflegeheim", see ``inner_suffixes``).

Typos are matched on stems ("Genosenschaft" meets "Genossenschaften" through the stem).

Umlauts are spelt out in Python *before* tantivy tokenizes (tantivy has no character
filter, and its ascii folding maps "ä" to "a", which would not meet "ae"). The spelt-out
text has the same words as the original, so the highlighter can find the original words
that match by analysing each original word on its own.
"""
import html
import re
from dataclasses import dataclass, field
from functools import lru_cache

import tantivy
from rapidfuzz.distance import OSA

from .querytext import ParsedQuery

STEM_ANALYZER = "de_stem"
WORD_ANALYZER = "de_word"

_UMLAUTS = (("ä", "ae"), ("ö", "oe"), ("ü", "ue"), ("ß", "ss"))
# What tantivy's simple tokenizer calls a token: a run of letters/digits.
WORD_PATTERN = re.compile(r"[^\W_]+", re.UNICODE)

MIN_COMPOUND_PART = 4       # "Pflege" inside "Altenpflege"; shorter parts match too much
MAX_INFIX_WORD = 60         # longer words are dropped by the analyzers anyway (remove_long)
SNIPPET_CHARS = 200
MAX_DECIDED_WORDS = 5_000   # words a highlighter remembers as matching or not (per query)

# Query words that should not have to match (they are in almost every text).
STOP_WORDS = frozenset("""
aber alle allem allen aller alles als also am an ander andere auch auf aus bei bin bis bist da
damit dann das dass dem den der des dich die dir doch dort du durch ein eine einem einen einer
eines er es etwas euch für fuer hat hatte ich ihr im in ist ja jede jedem jeden jeder kann kein
mit man mich mir nach nicht noch nun nur ob oder ohne sehr sein sich sie sind so über ueber um
und uns unter vom von vor war was weil wenn wer wie wir wird wo zu zum zur zwischen
""".split())


def normalize(text: str) -> str:
    """Lowercase with umlauts and ß spelt out: the text that tantivy then tokenizes."""
    if not text:
        return ""
    text = text.lower()                 # also Ä→ä, ẞ→ß
    for umlaut, spelt in _UMLAUTS:      # str.replace is much faster than str.translate here
        if umlaut in text:
            text = text.replace(umlaut, spelt)
    return text


def _stem_analyzer() -> tantivy.TextAnalyzer:
    return (tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
            .filter(tantivy.Filter.remove_long(60))
            .filter(tantivy.Filter.lowercase())
            .filter(tantivy.Filter.ascii_fold())
            .filter(tantivy.Filter.stemmer("german"))
            .build())


def _word_analyzer() -> tantivy.TextAnalyzer:
    return (tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
            .filter(tantivy.Filter.remove_long(60))
            .filter(tantivy.Filter.lowercase())
            .filter(tantivy.Filter.ascii_fold())
            .build())


_STEM = _stem_analyzer()
_WORD = _word_analyzer()


def register(index: tantivy.Index) -> None:
    """Register the analyzers on an index; needed every time an index is opened."""
    index.register_tokenizer(STEM_ANALYZER, _stem_analyzer())
    index.register_tokenizer(WORD_ANALYZER, _word_analyzer())


@lru_cache(maxsize=65536)
def stems(text: str) -> tuple[str, ...]:
    """Indexed stem tokens of ``text`` (a word or a phrase)."""
    return tuple(_STEM.analyze(normalize(text)))


@lru_cache(maxsize=65536)
def words(text: str) -> tuple[str, ...]:
    """Indexed unstemmed tokens of ``text``."""
    return tuple(_WORD.analyze(normalize(text)))


def fuzzy_distance(word: str) -> int:
    """Typos tolerated in a query word: none for short words, 1 from 5, 2 from 12 letters.

    Two typos at 9 letters made "Dorfladen" find "Dorfcafé" (stems dorflad/dorfcaf):
    too loose for German, where many words share long stems.
    """
    return 2 if len(word) >= 12 else 1 if len(word) >= 5 else 0


def fuzzy_stems(word: str) -> list[tuple[str, int]]:
    """(stem, typos tolerated) for a query word; the length of the typed word decides."""
    tokens, stem_tokens = words(word), stems(word)
    if len(tokens) != 1 or len(stem_tokens) != 1 or not fuzzy_distance(tokens[0]):
        return []
    return [(stem_tokens[0], fuzzy_distance(tokens[0]))]


def compound_parts(word: str) -> tuple[str, ...]:
    """Forms of a query word searched at the start or end of longer (compound) words.

    The word itself, and its stem when that is a shorter beginning of it
    ("wohnen" → "wohn" also finds "Wohnprojekt").
    """
    parts = []
    for token in words(word):
        if len(token) >= MIN_COMPOUND_PART:
            parts.append(token)
    for token, stem in zip(words(word), stems(word)):
        if len(stem) >= MIN_COMPOUND_PART + 1 and stem != token and token.startswith(stem):
            parts.append(stem)
    return tuple(dict.fromkeys(parts))


# endings a German noun or adjective takes after a compound's last part ("…genossenschaft-en")
INFLECTIONS = ("e", "en", "n", "s", "es", "er", "ern", "em")
# derivational endings that turn an adjective or a verb into a noun: the base is searched too
# ("Nachhaltigkeit" → "nachhaltig…", "Digitalisierung" → "digital…")
DERIVATIONS = ("isierung", "ierung", "igkeit", "lichkeit", "keit", "heit", "ung")
MIN_DERIVATION_BASE = 5


def derivation_bases(word: str) -> tuple[str, ...]:
    """Bases of a query word that ends in a derivational suffix, searched at the start of words."""
    bases = []
    for token in words(word):
        for ending in DERIVATIONS:
            if token.endswith(ending) and len(token) - len(ending) >= MIN_DERIVATION_BASE:
                bases.append(token[: -len(ending)])
                break
    return tuple(dict.fromkeys(bases))


def infix_parts(word: str) -> tuple[str, ...]:
    """Forms of a query word searched in the MIDDLE of longer words: the unstemmed word only.

    Not the shorter stem: "pfleg" inside "verpflegung" or "wohn" inside "gewohnheit" would
    find mostly unrelated words; a word in the middle of a compound is spelt in full.
    """
    return tuple(dict.fromkeys(t for t in words(word) if len(t) >= MIN_COMPOUND_PART))


def inner_suffixes(*texts: str) -> str:
    """The suffixes that start inside a word, of every distinct word of ``texts`` (already
    ``normalize``d), separated by spaces: "altenpflegeheim" gives "ltenpflegeheim" …
    "pflegeheim" … "egeheim". A prefix query "pflege" + at least one more letter on them is
    "pflege strictly inside a word", without a regex scan over the term dictionary.

    Only suffixes longer than ``MIN_COMPOUND_PART``: shorter ones cannot hold a query part
    followed by a letter. Cost grows with the square of a word's length, so this is meant
    for short texts (titles, summaries, tags), not bodies.
    """
    # one findall and a list comprehension: this runs for every indexed document
    distinct = dict.fromkeys(WORD_PATTERN.findall(" ".join(texts)))
    return " ".join([word[i:] for word in distinct if MIN_COMPOUND_PART < len(word) <= MAX_INFIX_WORD
                     for i in range(1, len(word) - MIN_COMPOUND_PART)])


def within_distance(a: str, b: str, limit: int) -> bool:
    """Optimal string alignment distance (a transposition costs 1) ≤ ``limit`` (rapidfuzz,
    in C++: the highlighter decides hundreds of words per query not seen before)."""
    return OSA.distance(a, b, score_cutoff=limit) <= limit


@lru_cache(maxsize=200_000)
def _close(token: str, query_word: str, limit: int) -> bool:
    """Typo match for highlighting. Checks only words that begin alike (same first letter or
    the first letter within reach): cheap enough for every word of a snippet; a typo in the
    very first letter is found by the search but not marked."""
    if abs(len(token) - len(query_word)) > limit or not token:
        return False
    if token[0] not in query_word[:limit + 1] and query_word[0] not in token[:limit + 1]:
        return False
    return within_distance(token, query_word, limit)


@dataclass
class Matcher:
    """Decides whether one original word of a text matches the query (for highlighting).

    Every distinct word of a result page is decided once per query, and a query of the long
    tail decides hundreds: the checks are laid out for that (set and C-level string
    operations first; the typo check only for stems of a length it can accept)."""
    stems: set[str] = field(default_factory=set)
    parts: set[str] = field(default_factory=set)
    infixes: set[str] = field(default_factory=set)
    fuzzy: list[tuple[str, int]] = field(default_factory=list)
    _yes: set[str] = field(default_factory=set, repr=False)   # original words known to match
    _no: set[str] = field(default_factory=set, repr=False)    # … known not to match
    _parts: tuple[str, ...] = field(default=(), repr=False)
    _infix: "re.Pattern | None" = field(default=None, repr=False)   # one of the infixes, anywhere
    _fuzzy_lengths: frozenset = field(default=frozenset(), repr=False)

    @classmethod
    def for_query(cls, parsed: ParsedQuery) -> "Matcher":
        """The matcher of the query's words; shared by searches with the same words, so the
        words of the texts are decided once per query, not once per request."""
        return _matcher_for(tuple(parsed.words), tuple(tuple(phrase) for phrase in parsed.phrases))

    @classmethod
    def _build(cls, query_words: tuple[str, ...], phrases: tuple[tuple[str, ...], ...]) -> "Matcher":
        matcher = cls()
        for word in query_words:
            matcher.stems.update(stems(word))
            matcher.parts.update(compound_parts(word))
            matcher.infixes.update(infix_parts(word))
            matcher.fuzzy.extend(fuzzy_stems(word))
        for phrase in phrases:
            for word in phrase:
                matcher.stems.update(stems(word))
        matcher._parts = tuple(matcher.parts)
        if matcher.infixes:
            matcher._infix = re.compile("|".join(map(re.escape, sorted(matcher.infixes))))
        matcher._fuzzy_lengths = frozenset(length for stem, limit in matcher.fuzzy
                                           for length in range(len(stem) - limit, len(stem) + limit + 1))
        return matcher

    def __bool__(self) -> bool:
        return bool(self.stems or self.parts or self.infixes or self.fuzzy)

    def matches(self, original_word: str) -> bool:
        if original_word in self._yes:
            return True
        if original_word in self._no:
            return False
        known = _matches(self, original_word)
        if len(self._yes) + len(self._no) >= MAX_DECIDED_WORDS:    # bounded memory
            self._yes.clear()
            self._no.clear()
        (self._yes if known else self._no).add(original_word)
        return known

    def matching(self, original_words: set[str]) -> set[str]:
        """The words of ``original_words`` that match (set operations; each word decided once)."""
        unknown = original_words - self._yes - self._no
        if unknown:
            if len(self._yes) + len(self._no) + len(unknown) > MAX_DECIDED_WORDS:    # bounded memory
                self._yes.clear()
                self._no.clear()
                unknown = original_words
            yes, no = self._yes, self._no
            for word in unknown:
                (yes if _matches(self, word) else no).add(word)
        return original_words & self._yes


@lru_cache(maxsize=128)       # at most ~128 × MAX_DECIDED_WORDS words held
def _matcher_for(query_words: tuple[str, ...], phrases: tuple[tuple[str, ...], ...]) -> Matcher:
    return Matcher._build(query_words, phrases)


def _matches(matcher: Matcher, original_word: str) -> bool:
    word_stems = stems(original_word)
    if not matcher.stems.isdisjoint(word_stems):
        return True
    if matcher.fuzzy:
        lengths = matcher._fuzzy_lengths
        for stem in word_stems:
            if len(stem) in lengths and any(_close(stem, q, d) for q, d in matcher.fuzzy):
                return True
    parts, infix = matcher._parts, matcher._infix
    if parts or infix is not None:
        for token in words(original_word):
            if parts and (token.startswith(parts) or token.endswith(parts)):
                return True
            # an infix with at least one letter before and after it (what a prefix query on
            # ``inner_suffixes`` finds)
            if infix is not None and infix.search(token, 1, len(token) - 1):
                return True
    return False


def highlight(text: str | None, matcher: Matcher, whole: bool = False,
              max_chars: int = SNIPPET_CHARS) -> str | None:
    """HTML of ``text`` with ``<mark>`` around the original words that match, or None.

    ``whole`` returns the full text (titles); otherwise a snippet of about ``max_chars``
    around the first hit, with "…" where the text was cut.
    """
    if not text or not matcher:
        return None
    # Decide each distinct word once (findall and set operations run in C); most texts of
    # a result have no hit at all and end here without a loop over their words.
    matching = matcher.matching(set(WORD_PATTERN.findall(text)))
    if not matching:
        return None
    hits = []
    for found in WORD_PATTERN.finditer(text):
        if not whole and hits and found.start() > hits[0][0] + max_chars:
            break
        if found.group() in matching:
            hits.append((found.start(), found.end()))
    if not hits:
        return None
    start, end = 0, len(text)
    if not whole and len(text) > max_chars:
        first = hits[0][0]
        start = max(0, first - max_chars // 4)
        if start > 0:                       # begin at a word boundary
            space = text.find(" ", start, first)
            start = space + 1 if space != -1 else start
        end = min(len(text), start + max_chars)
        if end < len(text):
            space = text.rfind(" ", max(hits[0][1], start), end)
            end = space if space > hits[0][1] else max(end, hits[0][1])
    out = ["…" if start > 0 else ""]
    position = start
    for hit_start, hit_end in hits:
        if hit_start < start or hit_end > end:
            continue
        out.append(html.escape(text[position:hit_start]))
        out.append("<mark>" + html.escape(text[hit_start:hit_end]) + "</mark>")
        position = hit_end
    out.append(html.escape(text[position:end]))
    out.append("…" if end < len(text) else "")
    return "".join(out).strip()
