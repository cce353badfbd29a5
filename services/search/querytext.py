"""Reading what a person typed into the search box.

The query language is deliberately small: words, "quoted phrases" and -excluded words.
Everything else (stray operators, unbalanced quotes, brackets, control characters, field
syntax such as ``title:``) is read as plain text or ignored, so no input can make a
backend's own query parser fail. ``parse`` never raises and caps the work a query can cause.
Backends turn the result into their own queries (see ``analysis`` for the word forms).
"""
import re
import unicodedata
from dataclasses import dataclass, field

MAX_QUERY_CHARS = 500       # longer input is cut (a 10,000-character query is not a question)
MAX_TERMS = 24              # words + phrases + excluded words together
MAX_PHRASE_WORDS = 12

# Typographic quotes used in German text count as quotes.
_QUOTES = str.maketrans({"„": '"', "“": '"', "”": '"', "«": '"', "»": '"', "‟": '"', "＂": '"'})
_OPERATORS = {"AND", "OR", "NOT", "&&", "||"}
_WORD_CHARS = re.compile(r"[^\W_]", re.UNICODE)       # a letter or digit
_EDGE_JUNK = re.compile(r"^[^\w]+|[^\w]+$", re.UNICODE)


@dataclass
class ParsedQuery:
    words: list[str] = field(default_factory=list)          # each must match (stop words: may)
    phrases: list[list[str]] = field(default_factory=list)  # words in this order
    excluded: list[str] = field(default_factory=list)       # none of these may match

    @property
    def empty(self) -> bool:
        """True when nothing positive was asked for (only exclusions, or nothing)."""
        return not self.words and not self.phrases

    def positive_words(self) -> list[str]:
        """All words the user wants to find, phrases flattened (for highlighting)."""
        return self.words + [w for phrase in self.phrases for w in phrase]


def clean(text) -> str:
    """The raw text made safe: a string, capped, control characters as spaces, NFC."""
    if not isinstance(text, str):
        text = "" if text is None else str(text)
    text = text[: MAX_QUERY_CHARS * 2]
    text = unicodedata.normalize("NFC", text)
    text = "".join(" " if unicodedata.category(ch)[0] == "C" else ch for ch in text)
    return text[:MAX_QUERY_CHARS].translate(_QUOTES)


def _word(token: str) -> str:
    """A token without leading/trailing punctuation; '' when no letter or digit is left."""
    token = _EDGE_JUNK.sub("", token)
    return token if _WORD_CHARS.search(token) else ""


def parse(text) -> ParsedQuery:
    """Split ``text`` into words, phrases and excluded words. Never raises."""
    parsed = ParsedQuery()
    try:
        text = clean(text)
        # Quotes pair up from the left; an unbalanced last quote is just ignored.
        pieces = text.split('"')
        if len(pieces) % 2 == 0:
            pieces[-2] = pieces[-2] + " " + pieces[-1]
            pieces.pop()
        budget = MAX_TERMS
        for index, piece in enumerate(pieces):
            if budget <= 0:
                break
            if index % 2 == 1:       # inside quotes
                words = [w for w in (_word(t) for t in piece.split()) if w][:MAX_PHRASE_WORDS]
                if len(words) > 1:
                    parsed.phrases.append(words)
                    budget -= 1
                elif words:
                    parsed.words.append(words[0])
                    budget -= 1
                continue
            for token in piece.split():
                if budget <= 0:
                    break
                if token in _OPERATORS:
                    continue
                excluded = token.startswith("-") and len(token) > 1
                word = _word(token.lstrip("+-!"))
                if not word:
                    continue
                (parsed.excluded if excluded else parsed.words).append(word)
                budget -= 1
    except Exception:  # pragma: no cover - defensive: parsing must never fail a search
        return ParsedQuery()
    return parsed
