"""The embedded search backend: tantivy, one index directory per generation.

Layout under ``path``: ``gen-000001/``, ``gen-000002/`` … and a ``current`` file naming
the generation that serves. A rebuild fills the next generation beside the serving one
and ``finish()`` switches by replacing ``current`` atomically (``os.replace``), then drops
the old directory. ``path=None`` keeps every generation in memory (tests).

tantivy allows one writer per index directory, so each open generation keeps ONE
``IndexWriter`` for its lifetime; writes are serialised with a lock. Every document is
stored once as JSON (field ``source``); all other fields only serve queries.

Versions: an in-memory map (hash of id → version) per generation, loaded from the fast
fields when a generation is opened, decides whether an incoming document is newer.
Tombstones stay in the index (``live`` = false) so that an older document arriving later
is still recognised as stale; searches never return them and a rebuild does not carry
them over.

Saved searches (``matching_queries``, the ``percolate`` RPC) are answered from a one-document
index in memory, built per call, never from the serving index.

Readers (``writable=False``): other processes may open the same ``path`` to answer queries
while one process writes (``kosi serve search --role query``). A reader holds no writer
and no version map; before each read it looks at ``current`` and at the serving
generation's ``meta.json`` (two ``stat`` calls) and follows a switch or a commit. A reader
started before the writer made an index answers ``IndexNotReady`` until there is one.
"""
import dataclasses
import hashlib
import heapq
import itertools
import math
import os
import shutil
import logging
from collections import OrderedDict
from datetime import date, datetime, timezone
from functools import lru_cache

import orjson
import tantivy
from eventlet import patcher
from rapidfuzz import process
from rapidfuzz.distance import OSA
from tantivy import Occur, Query

from kernel.errors import DependencyUnavailable, ValidationFailed
from kernel.geo import EARTH_RADIUS_KM, haversine_km

from . import analysis, querytext
from .files import write_atomically
from .backend import FACETS, SearchQuery, SearchResult, can_relax, corrected_texts, spelt_as_typed, validate_query

# Writes run in eventlet's thread pool (the service offloads them: a commit releases the GIL) and
# a few steps in the event loop (stop, starting or abandoning a rebuild): the locks between them
# must be the operating system's. eventlet's green locks, which monkey patching puts in
# `threading`, wake a waiter only in the thread that released them: a pool thread waiting for one
# held by the loop waited forever (and the process hung at exit, joining it).
OS_THREADING = patcher.original("threading")

log = logging.getLogger(__name__)

# Fields a search document may carry; everything else (e.g. ``contact``) is dropped.
DOCUMENT_FIELDS = ("id", "doc_type", "kind", "slug", "title", "summary", "body", "themes", "tags",
                   "regions", "organisations", "location", "starts_on", "ends_on",
                   "published_at", "version", "deleted")
TEXT_BOOSTS = {"title": 3.0, "summary": 2.0, "extra": 1.5, "body": 1.0}
COMPOUND_BOOST = 0.4      # constant score of "word at the start/end of a longer word" matches
INFIX_BOOST = 0.3         # … of "word in the middle of a longer word" (title, summary, tags)
FUZZY_BOOST = 0.25        # constant score of a match with typos
RESULT_CACHE_SIZE = 2048  # answers kept per index state (a commit starts afresh)
FACET_FIELDS = {"theme": "theme", "region": "region", "kind": "kind"}
_EPOCH = date(1970, 1, 1)


def _schema() -> tantivy.Schema:
    b = tantivy.SchemaBuilder()
    b.add_text_field("id", tokenizer_name="raw")
    b.add_unsigned_field("key", indexed=True, fast=True)         # 63-bit hash of id
    b.add_integer_field("version", fast=True)
    b.add_boolean_field("live", indexed=True, fast=True)
    b.add_bytes_field("source", stored=True)                     # the document as JSON
    for name in TEXT_BOOSTS:                                     # title, summary, extra, body
        b.add_text_field(name, tokenizer_name=analysis.STEM_ANALYZER)
    b.add_text_field("words", tokenizer_name=analysis.WORD_ANALYZER, index_option="basic")     # all text, unstemmed
    b.add_text_field("reversed", tokenizer_name=analysis.WORD_ANALYZER, index_option="basic")  # the same, backwards
    # suffixes starting inside the words of title, summary and tags (analysis.inner_suffixes)
    b.add_text_field("infixes", tokenizer_name=analysis.WORD_ANALYZER, index_option="basic")
    b.add_text_field("title_words", tokenizer_name=analysis.WORD_ANALYZER, index_option="basic")  # for suggest
    b.add_text_field("tag_words", tokenizer_name=analysis.WORD_ANALYZER, index_option="basic")
    for name in ("doc_type", "kind", "theme", "region"):
        b.add_text_field(name, tokenizer_name="raw", fast=True)
    b.add_float_field("lat", indexed=True, fast=True)
    b.add_float_field("lon", indexed=True, fast=True)
    b.add_integer_field("start_day", indexed=True, fast=True)   # days since 1970-01-01
    b.add_integer_field("end_day", indexed=True, fast=True)
    b.add_integer_field("published", indexed=True, fast=True)   # epoch seconds, for "newest"
    return b.build()


SCHEMA = _schema()


def id_key(doc_id: str) -> int:
    return int.from_bytes(hashlib.blake2b(doc_id.encode(), digest_size=8).digest(), "big") >> 1


def _day(value, field_name: str) -> int | None:
    if value in (None, ""):
        return None
    try:
        return (date.fromisoformat(str(value)[:10]) - _EPOCH).days
    except ValueError:
        raise ValidationFailed("Invalid date.", {field_name: ["Not a valid ISO date."]}) from None


def _timestamp(value) -> int | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return int(moment.timestamp())


def clean_document(raw: dict) -> dict:
    """The known fields of a search document, checked; unknown ones (``contact``) dropped."""
    if not isinstance(raw, dict):
        raise ValidationFailed("A search document must be an object.", {"documents": ["Not an object."]})
    doc = {name: raw.get(name) for name in DOCUMENT_FIELDS if name in raw}
    if not isinstance(doc.get("id"), str) or not doc["id"]:
        raise ValidationFailed("A search document needs an id.", {"id": ["Missing."]})
    if isinstance(doc.get("version"), bool) or not isinstance(doc.get("version"), int):
        raise ValidationFailed("A search document needs an integer version.", {"version": ["Missing."]})
    doc["deleted"] = bool(doc.get("deleted"))
    for name in ("themes", "tags", "regions", "organisations"):
        value = doc.get(name)
        doc[name] = [str(v) for v in value if v not in (None, "")] if isinstance(value, (list, tuple)) else []
    location = doc.get("location")
    if location is not None:
        try:
            doc["location"] = {"lat": float(location["lat"]), "lon": float(location["lon"])}
        except (TypeError, KeyError, ValueError):
            doc["location"] = None
    return doc


def _to_tantivy(doc: dict) -> tantivy.Document:
    out = tantivy.Document()
    out.add_text("id", doc["id"])
    out.add_unsigned("key", id_key(doc["id"]))
    out.add_integer("version", doc["version"])
    out.add_bytes("source", orjson.dumps(doc))
    live = not doc["deleted"]
    out.add_boolean("live", live)
    if not live:
        return out
    norm = analysis.normalize
    title, summary, body = norm(doc.get("title")), norm(doc.get("summary")), norm(doc.get("body"))
    tags = [norm(tag) for tag in doc["tags"]]
    extra = " ".join(tags + [norm(o) for o in doc["organisations"]])
    out.add_text("title", title)
    out.add_text("summary", summary)
    out.add_text("body", body)
    out.add_text("extra", extra)
    all_text = " ".join((title, summary, body, extra))
    out.add_text("words", all_text)
    # Every word spelt backwards (one cheap string reversal): "ends with" becomes a prefix
    # query, so "pflege" finds "altenpflege" without scanning the whole term dictionary.
    out.add_text("reversed", all_text[::-1])
    # "Pflege" in the middle of "Altenpflegeheim": a prefix query on the inner suffixes.
    # Not the body: the suffixes of every word cost too much indexing time there.
    out.add_text("infixes", analysis.inner_suffixes(title, summary, *tags))
    out.add_text("title_words", title)
    for tag in tags:
        out.add_text("tag_words", tag)
    if doc.get("doc_type"):
        out.add_text("doc_type", str(doc["doc_type"]))
    if doc.get("kind"):
        out.add_text("kind", str(doc["kind"]))
    for theme in doc["themes"]:
        out.add_text("theme", theme)
    for region in doc["regions"]:
        out.add_text("region", region)
    if doc.get("location"):
        out.add_float("lat", doc["location"]["lat"])
        out.add_float("lon", doc["location"]["lon"])
    # Date span: an entry from starts_on to ends_on; an article on the day it was published.
    try:
        start = _day(doc.get("starts_on"), "starts_on")
        end = _day(doc.get("ends_on"), "ends_on")
    except ValidationFailed:
        start = end = None
    published = _timestamp(doc.get("published_at"))
    if start is None and doc.get("doc_type") == "article" and published is not None:
        start = end = published // 86400
    if start is not None:
        out.add_integer("start_day", start)
        out.add_integer("end_day", end if end is not None and end >= start else start)
    out.add_integer("published", published if published is not None else 0)
    return out


class IndexNotReady(DependencyUnavailable):
    """A reader found no index yet: the writing process has not made one."""


def _stamp(path: str):
    """What changes when a file is replaced or rewritten (tantivy and ``current`` replace theirs)."""
    try:
        status = os.stat(path)
    except FileNotFoundError:
        return None
    return status.st_ino, status.st_mtime_ns, status.st_size


class _Generation:
    """One open index (a directory or in memory) with its single writer and version map,
    or (``writable=False``) only its reader."""

    _serials = itertools.count(1)

    def __init__(self, directory: str | None, writable: bool = True):
        self.directory = directory
        self.serial = next(self._serials)   # with ``reloads``: which index state a cached result is of
        self.writer = None
        if directory is not None:
            os.makedirs(directory, exist_ok=True)
            self.index = tantivy.Index(SCHEMA, path=directory, reuse=True)
            if writable:
                self.writer = self.index.writer(heap_size=96_000_000, num_threads=2)
        else:
            self.index = tantivy.Index(SCHEMA)
            self.writer = self.index.writer(heap_size=24_000_000, num_threads=1)
        analysis.register(self.index)
        self.lock = OS_THREADING.RLock()   # (none held across a green switch: see OS_THREADING)
        self.broken = False
        self.versions: dict[int, int] = {}
        self.reloads = 0  # each reload may show other documents: cached results of before are void
        self.meta_stamp = None
        if writable:
            self._load_versions()
        else:
            self.follow_commits()

    def reload(self) -> None:
        self.index.reload()
        self.reloads += 1

    def follow_commits(self) -> None:
        """A reader: reload when the writer has committed since the last look."""
        stamp = _stamp(os.path.join(self.directory, "meta.json"))
        if stamp == self.meta_stamp:
            return
        try:
            self.reload()
        except (OSError, ValueError) as error:   # a segment merged away meanwhile: the next read retries
            log.info("search index reload failed (%s); serving the previous state", error)
            return
        self.meta_stamp = stamp

    def _load_versions(self) -> None:
        self.reload()
        searcher = self.index.searcher()
        total = searcher.num_docs
        if not total:
            return
        hits = [address for _, address in searcher.search(Query.all_query(), total, count=False).hits]
        keys = searcher.fast_field_values("key", hits)
        versions = searcher.fast_field_values("version", hits)
        for key, version in zip(keys, versions):
            if key is not None and version is not None and version > self.versions.get(key, -1):
                self.versions[key] = version

    def upsert(self, documents: list[dict], commit: bool = True) -> int:
        """Add the documents newer than what this generation holds. ``commit=False`` (a
        rebuild, not served yet) leaves them to ``commit()``: one commit per page made a
        rebuild wait for a segment flush every 500 documents."""
        newest: dict[str, dict] = {}
        for raw in documents:
            doc = clean_document(raw)
            seen = newest.get(doc["id"])
            if seen is None or doc["version"] > seen["version"]:
                newest[doc["id"]] = doc
        with self.lock:
            self._check_intact()
            changed = []
            for doc in newest.values():
                key = id_key(doc["id"])
                if doc["version"] > self.versions.get(key, -1):
                    changed.append((key, doc))
            if not changed:
                return 0
            try:
                for key, doc in changed:
                    if key in self.versions:       # deletes cost work at commit: only when needed
                        self.writer.delete_documents_by_term("id", doc["id"])
                    self.writer.add_document(_to_tantivy(doc))
                if commit:
                    self.writer.commit()
            except BaseException:
                self._roll_back(pending=not commit)
                raise
            for key, doc in changed:
                self.versions[key] = doc["version"]
            if commit:
                self.reload()
            return len(changed)

    def commit(self) -> None:
        with self.lock:
            self._check_intact()
            try:
                self.writer.commit()
            except BaseException:
                self._roll_back(pending=True)
                raise
            self.reload()

    def _roll_back(self, pending: bool) -> None:
        """Drop the uncommitted documents; with ``pending`` ones of earlier calls among them
        the version map no longer tells the truth, and this generation must not be used."""
        self.writer.rollback()
        if pending:
            self.broken = True

    def _check_intact(self) -> None:
        if self.broken:
            raise RuntimeError("this index generation lost uncommitted documents in a failed write")

    def close(self) -> None:
        if self.writer is None:
            return
        with self.lock:
            try:
                self.writer.wait_merging_threads()
            except Exception:
                pass


class TantivyBackend:
    """``SearchBackend`` on tantivy (see the module docstring)."""

    def __init__(self, path: str | None = None, writable: bool = True,
                 result_cache_size: int = RESULT_CACHE_SIZE):
        self.path = path
        self.writable = writable
        self._results = _Lru(result_cache_size)   # answers, by index state and query
        self._facet_counts = _Lru(result_cache_size)  # facets, by index state and what they count
        self._switch_lock = OS_THREADING.Lock()
        self._rebuild: "TantivyRebuild | None" = None
        # True when the index on disk was built with another schema (an older release) and
        # was replaced by an empty one: it must be refilled with `kosi search reindex`
        self.needs_rebuild = False
        self._generation: _Generation | None = None
        self._current_stamp = None
        if not writable:
            if path is None:
                raise ValueError("a reader needs the path of an index another process writes")
            self._follow_writer()
        elif path is None:
            self._generation = _Generation(None)
        else:
            os.makedirs(path, exist_ok=True)
            name = self._current_name() or self._new_name()
            try:
                self._generation = _Generation(os.path.join(path, name))   # takes the writer lock
            except ValueError as error:
                if "schema does not match" not in str(error):
                    raise
                log.warning("search index %s has an older schema: starting empty; run `kosi search reindex`",
                            name)
                name, self.needs_rebuild = self._new_name(), True
                self._generation = _Generation(os.path.join(path, name))
            self._write_current(name)
            for leftover in os.listdir(path):      # from a rebuild that never finished
                if leftover.startswith("gen-") and leftover != name:
                    shutil.rmtree(os.path.join(path, leftover), ignore_errors=True)

    # ----- generations on disk
    def _current_name(self) -> str | None:
        try:
            with open(os.path.join(self.path, "current")) as f:
                name = f.read().strip()
        except FileNotFoundError:
            return None
        return name if name.startswith("gen-") and os.path.isdir(os.path.join(self.path, name)) else None

    def _new_name(self) -> str:
        numbers = [int(n[4:]) for n in os.listdir(self.path) if n.startswith("gen-") and n[4:].isdigit()]
        return f"gen-{max(numbers, default=0) + 1:06d}"

    def _write_current(self, name: str) -> None:
        write_atomically(os.path.join(self.path, "current"), name)

    def _follow_writer(self) -> None:
        """A reader: open the generation ``current`` names when it changed, and see the
        writer's commits. Until the writer made an index there is nothing to open."""
        stamp = _stamp(os.path.join(self.path, "current"))
        if stamp != self._current_stamp:
            name = self._current_name()
            serving = self._generation
            if name is not None and serving is not None and os.path.basename(serving.directory) == name:
                self._current_stamp = stamp
            elif name is not None and os.path.exists(os.path.join(self.path, name, "meta.json")):
                try:
                    self._generation = _Generation(os.path.join(self.path, name), writable=False)
                    self._current_stamp = stamp
                except (OSError, ValueError) as error:    # half-written or removed meanwhile: next read retries
                    log.info("search index %s could not be opened yet (%s)", name, error)
        if self._generation is not None:
            self._generation.follow_commits()

    def _writing(self) -> None:
        if not self.writable:
            raise RuntimeError("this search index is open for reading only (another process writes it)")

    # ----- writing
    def upsert(self, documents: list[dict]) -> int:
        self._writing()
        documents = list(documents)
        with self._switch_lock:          # so no write falls between the two generations
            changed = self._generation.upsert(documents)
            rebuild = self._rebuild
            if rebuild is not None and not rebuild._generation.broken:   # live changes go into it too
                rebuild._generation.upsert(documents, commit=False)
        return changed

    def refresh(self) -> None:
        if self.writable:
            self._generation.reload()
        else:
            self._follow_writer()

    def close(self) -> None:
        if self._rebuild is not None:
            self._rebuild.abort()
        if self._generation is not None:
            self._generation.close()

    def start_rebuild(self) -> "TantivyRebuild":
        self._writing()
        with self._switch_lock:
            if self._rebuild is not None:
                self._rebuild.abort()
            directory = None if self.path is None else os.path.join(self.path, self._new_name())
            self._rebuild = TantivyRebuild(self, _Generation(directory))
            return self._rebuild

    def _finish_rebuild(self, rebuild: "TantivyRebuild") -> None:
        with self._switch_lock:
            if self._rebuild is not rebuild:
                raise RuntimeError("This rebuild is no longer the current one.")
            new = rebuild._generation
            new.commit()
            if self.path is not None:
                self._write_current(os.path.basename(new.directory))
            old, self._generation, self._rebuild = self._generation, new, None
            self.needs_rebuild = False
        old.close()
        if old.directory:
            shutil.rmtree(old.directory, ignore_errors=True)

    def _abort_rebuild(self, rebuild: "TantivyRebuild") -> None:
        with self._switch_lock:
            if self._rebuild is rebuild:
                self._rebuild = None
        rebuild._generation.close()
        if rebuild._generation.directory:
            shutil.rmtree(rebuild._generation.directory, ignore_errors=True)

    # ----- reading
    def _serving(self) -> _Generation:
        if not self.writable:
            self._follow_writer()
            if self._generation is None:
                raise IndexNotReady("the search index is not there yet: the indexing process has not made it")
        return self._generation

    def _searcher(self):
        generation = self._serving()
        return generation, generation.index.searcher()

    def get(self, doc_id: str) -> dict | None:
        if not isinstance(doc_id, str) or not doc_id:
            return None
        _, searcher = self._searcher()
        hits = searcher.search(Query.term_query(SCHEMA, "id", doc_id), 1, count=False).hits
        return self._source(searcher, hits[0][1]) if hits else None

    def count(self) -> int:
        _, searcher = self._searcher()
        return searcher.search(_live(), 1, count=True).count

    @staticmethod
    def _source(searcher, address) -> dict:
        return orjson.loads(searcher.doc(address)["source"][0])

    def search(self, query: SearchQuery) -> SearchResult:
        """Answered from the results of this index state when asked before (a commit, a
        reload or a rebuild makes another state, so nothing stale is served)."""
        validate_query(query)
        generation = self._serving()
        state = (generation.serial, generation.reloads)
        key = (state, repr(query))
        cached = self._results.get(key)
        if cached is not None:
            return cached
        result = self._answer(query, state)
        self._results.put(key, result)
        return result

    def _answer(self, query: SearchQuery, state) -> SearchResult:
        parsed = querytext.parse(query.q)
        result = self._search(query, parsed, _text_query(parsed), state)
        if result.total == 0 and can_relax(parsed):
            result = self._search(query, parsed, _text_query(parsed, relaxed=True), state, relaxed=True)
            result.relaxed = True
        return result

    def _search(self, query: SearchQuery, parsed, text, state, relaxed: bool = False) -> SearchResult:
        filters = _filters(query)
        near = query.near
        generation, searcher = self._searcher()
        circle = None
        if near is not None and query.radius_km is not None:
            # measured only among the documents the facets count (all but the facet filters)
            within = _combine(text, {k: v for k, v in filters.items() if k not in FACETS}, None)
            circle = _circle_filter(searcher, near, query.radius_km, within)
        main = _combine(text, filters, circle)
        offset = (query.page - 1) * query.per_page
        if near is not None and query.sort == "distance":
            total, ranked = _rank_by_distance(searcher, main, near, offset, query.per_page,
                                              bounded=circle is not None)
        else:
            by_newest = query.sort == "newest" or (query.sort == "relevance" and text is None)
            result = searcher.search(main, query.per_page, count=True, offset=offset,
                                     order_by_field="published" if by_newest else None,
                                     order=tantivy.Order.Desc)
            total = result.count
            ranked = [(0.0 if by_newest else float(score), address) for score, address in result.hits]
        matcher = analysis.Matcher.for_query(parsed)
        items = [self._item(searcher, address, score, matcher, near) for score, address in ranked]
        # the same counts for every page and order of a query: kept apart from the answers
        counted = dataclasses.replace(query, sort="", page=0, per_page=0,
                                      near=query.near if circle is not None else None)
        facet_key = (state, relaxed, repr(counted))
        facets = self._facet_counts.get(facet_key)
        if facets is None:
            facets = _facets(searcher, text, query, circle)
            self._facet_counts.put(facet_key, facets)
        return SearchResult(total=total, items=items, facets=facets)

    def _item(self, searcher, address, score, matcher, near) -> dict:
        doc = self._source(searcher, address)
        highlight = {}
        title = analysis.highlight(doc.get("title"), matcher, whole=True)
        if title:
            highlight["title"] = title
        for name in ("summary", "body"):
            snippet = analysis.highlight(doc.get(name), matcher)
            if snippet:
                highlight[name] = snippet
        item = {k: v for k, v in doc.items() if k not in ("deleted", "body")}
        item["score"] = score
        item["highlight"] = highlight
        if near is not None:
            location = doc.get("location")
            item["distance_km"] = (round(haversine_km(near[0], near[1], location["lat"], location["lon"]), 3)
                                   if location else None)
        return item

    def suggest(self, prefix: str, limit: int = 8) -> list[dict]:
        typed = [w for w in analysis.words(querytext.clean(prefix)) if w][:6]
        if not typed or limit <= 0:
            return []
        clauses = [(Occur.Must, _live())]
        for token in typed:
            clauses.append((Occur.Must, Query.boolean_query([
                (Occur.Should, _words_beginning("title_words", token)),
                (Occur.Should, _words_beginning("tag_words", token)),
            ])))
        _, searcher = self._searcher()
        hits = searcher.search(Query.boolean_query(clauses), 200, count=False,
                               order_by_field="published", order=tantivy.Order.Desc).hits
        candidates = {}
        for rank, (_, address) in enumerate(hits):
            doc = self._source(searcher, address)
            for text in [doc.get("title") or ""] + doc.get("tags", []):
                text_words = analysis.words(text)
                if not text or not all(any(w.startswith(t) for w in text_words) for t in typed):
                    continue
                starts = bool(text_words) and text_words[0].startswith(typed[0])
                key = text.casefold()
                entry = ((0 if starts else 1, len(text), rank),
                         {"text": text, "id": doc["id"], "doc_type": doc.get("doc_type"), "kind": doc.get("kind")})
                if key not in candidates or entry[0] < candidates[key][0]:
                    candidates[key] = entry
        return [entry for _, entry in sorted(candidates.values(), key=lambda e: e[0])][:limit]

    def corrections(self, text: str, limit: int = 3) -> list[str]:
        """See ``SearchBackend.corrections``. Candidates come from the term dictionary of the
        unstemmed words (those beginning with the same letter, as the highlighter's typo
        check), ranked by typo distance, then by how many documents have them."""
        text = querytext.clean(text)
        found = list(analysis.WORD_PATTERN.finditer(text))
        if not found or limit <= 0:
            return []
        _, searcher = self._searcher()
        typing = found[-1].end() == len(text)       # the last word may be unfinished
        replacements = []
        for number, match in enumerate(found):
            word = match.group()
            if _misspelt(searcher, word, unfinished=typing and number == len(found) - 1):
                options = _closest_words(searcher, word, limit)
                if options:
                    replacements.append((match.span(), options))
        return corrected_texts(text, replacements)

    def related(self, doc_id: str, limit: int = 6) -> list[dict]:
        doc = self.get(doc_id)
        if doc is None or doc.get("deleted") or limit <= 0:
            return []
        should = []
        for name, text in (("title", doc.get("title")), ("summary", doc.get("summary")),
                           ("body", (doc.get("body") or "")[:5000])):
            counts: dict[str, int] = {}
            for stem in analysis.stems(text or ""):
                if len(stem) > 2 and stem not in analysis.STOP_WORDS:
                    counts[stem] = counts.get(stem, 0) + 1
            for stem, _ in sorted(counts.items(), key=lambda kv: -kv[1])[:15]:
                for target in ("title", "summary", "body"):
                    should.append((Occur.Should, Query.boost_query(
                        Query.term_query(SCHEMA, target, stem), TEXT_BOOSTS[target] / 3)))
        for theme in doc.get("themes", []):
            should.append((Occur.Should, Query.const_score_query(Query.term_query(SCHEMA, "theme", theme), 1.5)))
        for region in doc.get("regions", []):
            should.append((Occur.Should, Query.const_score_query(Query.term_query(SCHEMA, "region", region), 1.0)))
        if not should:
            return []
        query = Query.boolean_query([
            (Occur.Must, _live()),
            (Occur.Must, Query.boolean_query(should)),
            (Occur.MustNot, Query.term_query(SCHEMA, "id", doc["id"])),
        ])
        _, searcher = self._searcher()
        out = []
        for score, address in searcher.search(query, limit, count=False).hits:
            item = {k: v for k, v in self._source(searcher, address).items() if k not in ("deleted", "body")}
            item["score"] = float(score)
            out.append(item)
        return out

    def matching_queries(self, document: dict, queries: list[str]) -> list[int]:
        """The positions in ``queries`` whose text finds ``document`` (see the interface).

        The document goes into an index of its own, in memory, with this schema and these
        analyzers, written exactly as ``upsert`` writes it; each query is built by the
        search path's ``_text_query`` and run there. The serving index is not touched, so
        a document not indexed yet (or of another version) is answered all the same.
        """
        queries = list(queries)
        doc = clean_document(document)
        if doc["deleted"] or not queries:
            return []
        searcher = _one_document_searcher(doc)
        decided: dict[str, Query | None] = {}

        def word_clause(word: str) -> Query | None:
            # A word's clause (its compound forms and typos: the costly part) either matches
            # the one document or not; decided once per call, it stands in for the clause in
            # every query that has the word. The boolean logic stays _text_query's own.
            if word not in decided:
                clause = _word_clause(word)
                decided[word] = None if clause is None else \
                    Query.all_query() if _finds(searcher, clause) else Query.empty_query()
            return decided[word]

        return [position for position, text in enumerate(queries)
                if _finds(searcher, _combine(_text_query(querytext.parse(text), word_clause), {}, None))]


def _misspelt(searcher, word: str, unfinished: bool) -> bool:
    """A word long enough for typos that no live or dead document has, nor its stem (nor,
    ``unfinished``, a word it begins)."""
    tokens, stems = analysis.words(word), analysis.stems(word)
    if (len(tokens) != 1 or not analysis.fuzzy_distance(tokens[0]) or not tokens[0].isalpha()
            or word.lower() in analysis.STOP_WORDS):
        return False
    token = tokens[0]
    if searcher.doc_freq("words", token) or any(searcher.doc_freq(name, stem) for name in TEXT_BOOSTS
                                                  for stem in stems):
        return False
    return not (unfinished and searcher.terms_with_prefix("words", token, limit=1))


def _closest_words(searcher, word: str, limit: int) -> list[str]:
    """The indexed words within ``word``'s typo distance, most alike and most frequent
    first, as a live document spells them."""
    token = analysis.words(word)[0]
    terms = dict(searcher.terms_with_prefix("words", token[0]))
    close = process.extract(token, list(terms), scorer=OSA.distance,
                            score_cutoff=analysis.fuzzy_distance(token), limit=None)
    ranked = sorted(close, key=lambda found: (found[1], -terms[found[0]], found[0]))
    spelt = []
    for term, _, _ in ranked:
        original = _spelling(searcher, term)
        if original is not None:
            original = spelt_as_typed(word, original)
        if original is not None and original not in spelt:
            spelt.append(original)
            if len(spelt) == limit:
                break
    return spelt


def _spelling(searcher, term: str) -> str | None:
    """How a live document writes the word indexed as ``term`` (None: only deleted ones)."""
    hits = searcher.search(Query.boolean_query([(Occur.Must, _live()),
                                                (Occur.Must, Query.term_query(SCHEMA, "words", term))]),
                           1, count=False).hits
    if not hits:
        return None
    doc = TantivyBackend._source(searcher, hits[0][1])
    texts = [doc.get(name) or "" for name in ("title", "summary", "body")] + list(doc.get("tags") or [])
    for text in texts:
        for original in analysis.WORD_PATTERN.findall(text):
            if analysis.words(original) == (term,):
                return original
    return None


class _Lru:
    """A bounded map that forgets what was used least recently (size 0 keeps nothing)."""

    def __init__(self, size: int):
        self.size = size
        self._items: OrderedDict = OrderedDict()

    def get(self, key):
        value = self._items.get(key)
        if value is not None:
            self._items.move_to_end(key)
        return value

    def put(self, key, value) -> None:
        if not self.size:
            return
        self._items[key] = value
        while len(self._items) > self.size:
            self._items.popitem(last=False)


class TantivyRebuild:
    """A new generation being filled; searches keep using the old one until ``finish``."""

    def __init__(self, backend: TantivyBackend, generation: _Generation):
        self._backend = backend
        self._generation = generation
        self._done = False

    def upsert(self, documents: list[dict]) -> int:
        if self._done:
            raise RuntimeError("This rebuild has already finished.")
        return self._generation.upsert(list(documents), commit=False)

    def finish(self) -> None:
        if self._done:
            return
        self._backend._finish_rebuild(self)   # if it raises, abort() still cleans up
        self._done = True

    def abort(self) -> None:
        if self._done:
            return
        self._done = True
        self._backend._abort_rebuild(self)


# ----- query building (module functions: they need only the schema)

def _live() -> Query:
    return Query.const_score_query(Query.term_query(SCHEMA, "live", True), 0.0)


# endings reversed, as they stand in front of a reversed word ("…genossenschaft-en" → "ne…")
_REVERSED_INFLECTIONS = "(" + "|".join(ending[::-1] for ending in analysis.INFLECTIONS) + ")?"
# "and at least one more letter" in a regex over terms. The text fields' terms are ASCII-folded,
# so [a-z0-9] is every letter a German text leaves; the pattern ".+" found the same, but
# compiling its (Unicode) automaton took 0.5–1 ms per regex, the main cost of a query not
# seen before (0.08 ms now). A letter without an ASCII form (Greek, Cyrillic) right after a
# query word's letters is not taken as part of a compound.
_MORE_LETTERS = "[a-z0-9]+"


def _regex_literal(token: str) -> str:
    return "".join(ch if ch.isalnum() else "\\" + ch for ch in token)


def _words_beginning(field_name: str, text: str) -> Query:
    """Terms of ``field_name`` that begin with ``text``, itself included (a range of the term
    dictionary: a one-term phrase prefix; no automaton to compile, unlike the regex ``text.*``)."""
    return Query.phrase_prefix_query(SCHEMA, field_name, [text])


def _longer_words(field_name: str, text: str, before: str = "") -> Query:
    """Terms of ``field_name`` that are ``text`` and at least one more letter (after what
    the regex ``before`` matches, if given)."""
    return Query.regex_query(SCHEMA, field_name, before + _regex_literal(text) + _MORE_LETTERS)


# Query parts are immutable once built and depend only on their words: they are kept
# (compiling the regex and fuzzy automata is a good part of building a query).
@lru_cache(maxsize=4096)
def _terms_clause(stem_tokens: tuple[str, ...], phrase: bool) -> Query | None:
    """The stems in the text fields, title counting most; several stems as a phrase."""
    if not stem_tokens:
        return None
    clauses = []
    for name, boost in TEXT_BOOSTS.items():
        if len(stem_tokens) == 1:
            inner = Query.term_query(SCHEMA, name, stem_tokens[0])
        elif phrase:
            inner = Query.phrase_query(SCHEMA, name, list(stem_tokens))
        else:
            inner = Query.boolean_query([(Occur.Must, Query.term_query(SCHEMA, name, s)) for s in stem_tokens])
        clauses.append((Occur.Should, Query.boost_query(inner, boost)))
    return Query.boolean_query(clauses)


@lru_cache(maxsize=4096)
def _word_clause(word: str) -> Query | None:
    stem_tokens = analysis.stems(word)
    clauses = []
    exact = _terms_clause(stem_tokens, phrase=True)
    if exact is None:
        return None
    clauses.append((Occur.Should, exact))
    if len(stem_tokens) == 1:
        parts = analysis.compound_parts(word)
        # compounds starting with it ("pfleg" + more covers "pflege" + more), words of its
        # base ("nachhaltig" + more for "Nachhaltigkeit"), or ending with it, inflected or not
        # ("…genossenschaft-en" for "Genossenschaft": the reversed words start with "ne")
        beginnings = parts + analysis.derivation_bases(word)
        starts = [p for p in beginnings if not any(q != p and p.startswith(q) for q in beginnings)]
        for text in starts:
            clauses.append((Occur.Should, Query.const_score_query(_longer_words("words", text), COMPOUND_BOOST)))
        for text in parts:
            clauses.append((Occur.Should, Query.const_score_query(
                _longer_words("reversed", text[::-1], before=_REVERSED_INFLECTIONS), COMPOUND_BOOST)))
        for part in analysis.infix_parts(word):         # compounds with it in the middle
            clauses.append((Occur.Should, Query.const_score_query(_longer_words("infixes", part), INFIX_BOOST)))
        for stem, distance in analysis.fuzzy_stems(word):     # typos, in any text field
            for field_name in TEXT_BOOSTS:
                clauses.append((Occur.Should, Query.const_score_query(
                    Query.fuzzy_term_query(SCHEMA, field_name, stem, distance), FUZZY_BOOST)))
    return Query.boolean_query(clauses)


def _text_query(parsed: querytext.ParsedQuery, word_clause=_word_clause, relaxed: bool = False) -> Query | None:
    """Every word (or a typo/compound form of it) must match, stop words may; None if no text.
    ``relaxed``: any of the words may match (the more, the higher the score); phrases and
    exclusions still hold.

    ``word_clause`` builds a word's clause (``matching_queries`` passes one that decided it
    on its one document already)."""
    clauses = []
    required = [w for w in parsed.words if w.lower() not in analysis.STOP_WORDS] if not relaxed else []
    # a word typed again adds nothing but cost (40 times one word cost as much as 10 words)
    distinct: dict[str, str] = {}
    for word in parsed.words:
        distinct.setdefault(word.lower(), word)
    for word in distinct.values():
        clause = word_clause(word)
        if clause is None:
            if word in required:  # longer than any indexed word: no document can contain it
                return Query.empty_query()
            continue
        must = word in required or not required and not parsed.phrases and not relaxed
        clauses.append((Occur.Must if must else Occur.Should, clause))
    for phrase in parsed.phrases:
        clause = _terms_clause(analysis.stems(" ".join(phrase)), phrase=True)
        if clause is not None:
            clauses.append((Occur.Must, clause))
    for word in parsed.excluded:
        clause = _terms_clause(analysis.stems(word), phrase=True)
        if clause is not None:
            clauses.append((Occur.MustNot, clause))
    if not any(occur == Occur.Must for occur, _ in clauses):
        if any(occur == Occur.MustNot for occur, _ in clauses):
            clauses.append((Occur.Must, Query.all_query()))
        elif not clauses:
            return None
    return Query.boolean_query(clauses)



def _filters(query: SearchQuery) -> dict[str, Query]:
    """One query per active filter, keyed by name (facets leave their own one out)."""
    filters: dict[str, Query] = {}
    for facet, values in _facet_values(query).items():
        filters[facet] = Query.term_set_query(SCHEMA, FACET_FIELDS[facet], values)
    if query.doc_type:
        filters["doc_type"] = Query.term_query(SCHEMA, "doc_type", query.doc_type)
    if query.date_from or query.date_to:
        parts = []
        date_from, date_to = _day(query.date_from, "date_from"), _day(query.date_to, "date_to")
        if date_to is not None:
            parts.append((Occur.Must, Query.range_query(SCHEMA, "start_day", tantivy.FieldType.Integer,
                                                        upper_bound=date_to)))
        if date_from is not None:
            parts.append((Occur.Must, Query.range_query(SCHEMA, "end_day", tantivy.FieldType.Integer,
                                                        lower_bound=date_from)))
        filters["date"] = Query.boolean_query(parts)
    if query.bbox is not None:
        min_lon, min_lat, max_lon, max_lat = (float(v) for v in query.bbox)
        filters["bbox"] = _box(min_lat, max_lat, min_lon, max_lon)
    return filters


def _box(min_lat, max_lat, min_lon, max_lon) -> Query:
    return Query.boolean_query([
        (Occur.Must, Query.range_query(SCHEMA, "lat", tantivy.FieldType.Float, min_lat, max_lat)),
        (Occur.Must, Query.range_query(SCHEMA, "lon", tantivy.FieldType.Float, min_lon, max_lon)),
    ])


def _combine(text: Query | None, filters: dict[str, Query], circle: Query | None) -> Query:
    clauses = [(Occur.Must, _live())]
    if text is not None:
        clauses.append((Occur.Must, text))
    for clause in filters.values():
        clauses.append((Occur.Must, Query.const_score_query(clause, 0.0)))
    if circle is not None:
        clauses.append((Occur.Must, Query.const_score_query(circle, 0.0)))
    return Query.boolean_query(clauses)


PERCOLATE_WRITER_HEAP = 15_000_000     # the smallest writer arena tantivy accepts


def _one_document_searcher(doc: dict):
    """A searcher over an in-memory index holding only ``doc`` (a ``clean_document``)."""
    index = tantivy.Index(SCHEMA)
    analysis.register(index)           # analyzers are per index: every new one needs them
    writer = index.writer(heap_size=PERCOLATE_WRITER_HEAP, num_threads=1)
    writer.add_document(_to_tantivy(doc))
    writer.commit()
    writer.wait_merging_threads()      # the writer's threads end here, not at garbage collection
    index.reload()
    return index.searcher()


def _finds(searcher, query: Query) -> bool:
    return bool(searcher.search(query, 1, count=False).hits)


def _all_hits(searcher, query: Query):
    return searcher.search(query, max(1, searcher.num_docs), count=False).hits


def _circle_box(lat: float, lon: float, radius_km: float) -> tuple[Query, bool]:
    """The box around every point within ``radius_km`` of (lat, lon), and whether it holds
    all of them (not where the circle reaches over the ±180° meridian: no wrapping here)."""
    theta = radius_km / EARTH_RADIUS_KM
    dlat = math.degrees(theta)
    cos_lat = math.cos(math.radians(lat))
    # the circle's widest point east and west: asin(sin θ / cos φ), a little more than θ / cos φ
    ratio = math.sin(min(theta, math.pi / 2)) / cos_lat if cos_lat > 1e-12 else math.inf
    dlon = 180.0 if ratio >= 1 or lat + dlat >= 90 or lat - dlat <= -90 \
        else min(180.0, math.degrees(math.asin(ratio)) * (1 + 1e-9))
    whole = dlon >= 180.0 or -180.0 <= lon - dlon and lon + dlon <= 180.0
    return (_box(max(-90.0, lat - dlat), min(90.0, lat + dlat), max(-180.0, lon - dlon), min(180.0, lon + dlon)),
            whole)


def _circle_filter(searcher, near, radius_km, within: Query) -> Query:
    """Documents within ``radius_km`` of ``near``, as a query, so totals, paging and facets
    stay exact: the box around the circle minus the box's corners (ids of the documents
    there, found with exact distances; about a fifth of the box).

    Only the corner documents that ``within`` matches are measured and listed: every search
    the filter serves is ``within`` narrowed further, and a text query leaves far fewer ids
    to exclude (the list is evaluated by each query, so its length is what costs)."""
    lat, lon = float(near[0]), float(near[1])
    cos_lat = math.cos(math.radians(lat))
    box, _ = _circle_box(lat, lon, radius_km)
    candidates = Query.boolean_query([(Occur.Must, Query.const_score_query(within, 0.0)), (Occur.Must, box)])
    hits = [address for _, address in _all_hits(searcher, candidates)]
    if not hits:
        return Query.empty_query()
    lats = searcher.fast_field_values("lat", hits)
    lons = searcher.fast_field_values("lon", hits)
    keys = searcher.fast_field_values("key", hits)
    # A flat-earth distance decides clear cases cheaply where it is accurate (small circles
    # away from the poles); haversine decides the rest.
    km_lat = math.radians(1) * EARTH_RADIUS_KM
    km_lon = km_lat * cos_lat
    exact_only = radius_km > 100 or abs(lat) > 70
    near_sq, far_sq = (radius_km * 0.95) ** 2, (radius_km * 1.05) ** 2
    outside = []
    for key, a, o in zip(keys, lats, lons):
        flat_sq = ((a - lat) * km_lat) ** 2 + ((o - lon) * km_lon) ** 2
        if exact_only or near_sq < flat_sq <= far_sq:
            is_inside = haversine_km(lat, lon, a, o) <= radius_km
        else:
            is_inside = flat_sq <= near_sq
        if not is_inside:
            outside.append(key)
    if len(outside) == len(hits):
        return Query.empty_query()
    if not outside:
        return box
    return Query.boolean_query([(Occur.Must, box),
                                (Occur.MustNot, _any_key(outside))])


FIRST_PROBE_KM = 5.0       # the first box tried around the point when ranking by distance
MEASURE_ALL_UP_TO = 2000   # matches up to which every one is measured at once


TERM_SET_FROM = 1500       # ids from which one term-set query beats one term query per id


def _any_key(keys: list[int]) -> Query:
    """Documents with one of these id keys. A term-set query costs milliseconds however few
    keys it holds (100 keys: ~2 ms per evaluation); single term queries cost per key."""
    if len(keys) >= TERM_SET_FROM:
        return Query.term_set_query(SCHEMA, "key", keys)
    return Query.boolean_query([(Occur.Should, Query.term_query(SCHEMA, "key", key)) for key in keys])


def _rank_by_distance(searcher, query: Query, near, offset: int, limit: int, bounded: bool = False):
    """The total and the page of matches nearest to ``near``: ``sorted(all, key=distance)
    [offset:offset + limit]``, documents without a location last.

    Many matches (and no radius bounding them already): boxes around the point, growing,
    until one holds enough matches whose farthest needed one is no farther than the box
    reaches in every direction — nothing outside the box can be nearer.
    """
    lat, lon = float(near[0]), float(near[1])
    need = offset + limit
    if not bounded:
        total = searcher.search(query, 1, count=True).count
        radius = FIRST_PROBE_KM
        while total > MEASURE_ALL_UP_TO and radius < EARTH_RADIUS_KM:   # beyond: the whole earth
            box, whole = _circle_box(lat, lon, radius)
            if not whole:
                break
            boxed = Query.boolean_query([(Occur.Must, query), (Occur.Must, box)])
            hits = [address for _, address in _all_hits(searcher, boxed)]
            if len(hits) >= need:
                lats = searcher.fast_field_values("lat", hits)
                lons = searcher.fast_field_values("lon", hits)
                order = _nearest(lat, lon, lats, lons, need)
                farthest = _distances_km(lat, lon, [lats[order[-1]]], [lons[order[-1]]])[0]
                if farthest <= radius:
                    return total, [(0.0, hits[i]) for i in order[offset:]]
                radius = farthest * (1 + 1e-9)          # this box holds all that can be nearer
            else:
                radius *= 4
    hits = [address for _, address in _all_hits(searcher, query)]
    if not hits:
        return 0, []
    lats = searcher.fast_field_values("lat", hits)
    lons = searcher.fast_field_values("lon", hits)
    order = _nearest(lat, lon, lats, lons, need)[offset:]
    return len(hits), [(0.0, hits[i]) for i in order]


def _nearest(lat: float, lon: float, lats, lons, count: int) -> list[int]:
    """Indexes of the ``count`` points nearest to (lat, lon), nearest first, ties in index
    order: ``sorted(range(n), key=distance)[:count]`` without computing every distance.

    The exact distances of the ``count`` points nearest by a flat-earth estimate give a
    distance T that the ``count`` nearest cannot exceed. A point is at least its difference
    in latitude away (R·|Δφ|, a lower bound), so only points with a bound up to T are measured.
    """
    if count <= 0:
        return []
    if count >= len(lats):
        candidates = range(len(lats))
    else:
        p1 = math.radians(lat)
        bounds = [math.inf if a is None or o is None else EARTH_RADIUS_KM * abs(math.radians(a) - p1)
                  for a, o in zip(lats, lons)]
        stretch = math.cos(p1) ** 2       # a degree of longitude, squared, in degrees of latitude
        estimates = [math.inf if a is None or o is None else (a - lat) ** 2 + stretch * (o - lon) ** 2
                     for a, o in zip(lats, lons)]
        probe = heapq.nsmallest(count, range(len(estimates)), key=estimates.__getitem__)
        limit = max(_distances_km(lat, lon, [lats[i] for i in probe], [lons[i] for i in probe]))
        limit = limit * (1 + 1e-9) + 1e-9          # rounding must never drop a point
        candidates = [i for i, bound in enumerate(bounds) if bound <= limit]
    distances = _distances_km(lat, lon, [lats[i] for i in candidates], [lons[i] for i in candidates])
    order = heapq.nsmallest(count, range(len(candidates)), key=distances.__getitem__)
    return [candidates[i] for i in order]


def _distances_km(lat: float, lon: float, lats, lons) -> list[float]:
    """``haversine_km`` from (lat, lon) to every point, inlined (the same arithmetic, so the
    same floats) with the terms of the fixed point computed once: it runs for every match."""
    radians, sin, cos, asin, sqrt = math.radians, math.sin, math.cos, math.asin, math.sqrt
    p1 = radians(lat)
    cos_p1 = cos(p1)
    diameter = 2 * EARTH_RADIUS_KM
    out = []
    for a, o in zip(lats, lons):
        if a is None or o is None:
            out.append(math.inf)
            continue
        p2 = radians(a)
        h = sin((p2 - p1) / 2) ** 2 + cos_p1 * cos(p2) * sin(radians(o - lon) / 2) ** 2
        out.append(diameter * asin(min(1.0, sqrt(h))))
    return out


def _facets(searcher, text, query: SearchQuery, circle) -> dict[str, list]:
    """Counts per facet value over the matches of the query and every OTHER filter, in one
    pass: the query without the facet filters, and each facet's terms inside a filter
    aggregation of the other facets' filters (instead of one query run per active facet)."""
    chosen = _facet_values(query)
    base = _combine(text, {k: v for k, v in _filters(query).items() if k not in FACETS}, circle)
    aggregations = {}
    for facet in FACETS:
        terms = {"terms": {"field": FACET_FIELDS[facet], "size": 1000}}
        others = [_any_of(FACET_FIELDS[other], chosen[other]) for other in FACETS if other != facet and other in chosen]
        aggregations[facet] = {"filter": " AND ".join(others), "aggs": {"values": terms}} if others else terms
    result = searcher.aggregate(base, aggregations)
    # a facet inside a filter aggregation has its buckets one level down, under "values"
    return {facet: _buckets((result.get(facet) or {}).get("values", result.get(facet))) for facet in FACETS}


def _facet_values(query: SearchQuery) -> dict[str, list[str]]:
    """The values of each active facet filter."""
    chosen = {}
    for facet in FACETS:
        values = [str(v) for v in getattr(query, facet) or [] if v not in (None, "")]
        if values:
            chosen[facet] = values
    return chosen


def _any_of(field_name: str, values: list[str]) -> str:
    """``field`` is one of ``values``, in tantivy's query language (every value quoted)."""
    def quoted(value):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return "(" + " OR ".join(f"{field_name}:{quoted(value)}" for value in values) + ")"


def _buckets(aggregation) -> list[dict]:
    buckets = (aggregation or {}).get("buckets", [])
    return sorted(({"value": b["key"], "count": b["doc_count"]} for b in buckets if b["doc_count"] > 0),
                  key=lambda b: (-b["count"], b["value"]))
