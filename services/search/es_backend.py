"""The search interface on Elasticsearch 9 (the official ``elasticsearch`` client).

Indices are versioned behind an alias: ``<prefix>-v<N>`` serves as ``<prefix>`` (default
``kosi-search``). Searches and writes go through the alias; ``start_rebuild`` fills the
next index beside it and ``finish`` moves the alias in one ``update_aliases`` call.
While a rebuild runs, every incoming document must be written twice — to the serving
index and to the new one — or what is published during the rebuild is missing after the
switch. The service's indexer calls ``upsert`` on both the backend and the ``Rebuild``;
this backend also forwards its own ``upsert`` to a rebuild it started (as the tantivy
backend does), so the shared behaviour suite holds; the repeated write is a 409, no change.

Versions are enforced by Elasticsearch itself: every write is an ``index`` action with
``version_type`` external and the catalog version, so an older (or replayed) document is
rejected with a 409 per item, which counts as "no change".

The user's text is read by ``querytext.parse`` and only ever sent inside ``match``-style
queries (never ``query_string``), so no input can make an invalid Elasticsearch query.

Saved searches (``matching_queries``): the new document is written, under an id of its own,
into a small scratch index with the serving indices' settings and mapping
(``<prefix>-percolate-m<MAPPING_VERSION>``), refreshed, and every query text is run there as
``search`` would send it, filtered to that one id, in one ``_msearch``; then the document
is deleted. Elasticsearch's ``percolate`` query would need the queries stored in an index;
these come with each call, and the same ``bool`` the search path builds keeps the answer
equal to what a search finds. The serving index is not used: the document may not be
indexed yet when the caller asks.
"""
import logging
import math
import re
import unicodedata
import uuid

from elasticsearch import BadRequestError, Elasticsearch, NotFoundError
from rapidfuzz.distance import OSA

from kernel.errors import ValidationFailed
from kernel.geo import haversine_km
from services.search import es_mapping
from services.search.backend import (FACETS, SearchQuery, SearchResult, can_relax, checked_bbox, checked_point,
                                     corrected_texts, spelt_as_typed, validate_query)
from services.search.analysis import STOP_WORDS, WORD_PATTERN, derivation_bases, fuzzy_distance
from services.search.querytext import clean, parse

# "external": a document is written only when its version is *greater* than the stored
# one; the same version again is a 409 — the replayed event changed nothing, and
# ``upsert`` can say so ("returns how many changed"). (``external_gte`` would accept equal
# versions, report them as "updated" and make every replay count as a change.)
VERSION_TYPE = "external"
BULK_CHUNK = 1000                       # documents per _bulk request
FACET_SIZE = 100                        # more distinct values than themes/regions/kinds exist

SOURCE_EXCLUDES = ["body", "deleted", "suggest"]
LIST_FIELDS = ("themes", "tags", "regions", "organisations")
ITEM_FIELDS = tuple(f for f in es_mapping.DOCUMENT_FIELDS if f not in ("body", "deleted"))
FACET_FIELDS = {"theme": "themes", "region": "regions", "kind": "kind"}

# search fields and boosts: the analysed words count most, compound prefixes and typo
# variants less, so exact matches rank above "Pflege" -> "Pflegeheim" and typos.
EXACT_FIELDS = ["title^3", "summary^2", "body"]
COMPOUND_FIELDS = ["title.compound^1.5", "summary.compound", "body.compound^0.5"]
COMPOUND_BOOST = 0.6
FUZZY_BOOST = 0.4

NOT_DELETED = {"term": {"deleted": False}}
_INDEX_NUMBER = re.compile(r"-v(\d+)$")

log = logging.getLogger(__name__)


class IndexingFailed(Exception):
    """Elasticsearch refused documents for another reason than an older version."""

    def __init__(self, errors: list[dict]):
        super().__init__(f"{len(errors)} documents not indexed; first: {errors[0]}")
        self.errors = errors


class PercolateFailed(Exception):
    """Elasticsearch did not answer every query of a ``matching_queries`` call."""


class ElasticsearchBackend:
    def __init__(self, client: Elasticsearch, index_prefix: str = "kosi-search", replicas: int = 1):
        self.client = client
        self.alias = index_prefix
        self.replicas = replicas
        self._ready = False
        self._percolate_ready = False
        self._rebuild: "ElasticsearchRebuild | None" = None

    # ------------------------------------------------------------------ indices

    def ensure_index(self) -> None:
        """Create ``<prefix>-v<N>`` with the alias when no index serves yet (once per process)."""
        if self._ready:
            return
        if not self.client.indices.exists_alias(name=self.alias):
            name = self._next_index_name()
            body = es_mapping.index_body(self.replicas)
            try:
                self.client.indices.create(index=name, aliases={self.alias: {}}, **body)
            except BadRequestError as error:
                # another process created it first: fine when the alias is there now
                if error.error != "resource_already_exists_exception" or \
                        not self.client.indices.exists_alias(name=self.alias):
                    raise
        self._ready = True

    def _next_index_name(self) -> str:
        existing = self.client.indices.get_alias(index=f"{self.alias}-v*")
        numbers = [int(m.group(1)) for m in map(_INDEX_NUMBER.search, existing) if m]
        return f"{self.alias}-v{max(numbers, default=0) + 1}"

    @property
    def percolate_index(self) -> str:
        """The scratch index of ``matching_queries`` (no alias; named after the mapping's
        version, so a release with another mapping gets a new one)."""
        return f"{self.alias}-percolate-m{es_mapping.MAPPING_VERSION}"

    def ensure_percolate_index(self) -> None:
        """Create the scratch index when it does not exist yet (once per process)."""
        if self._percolate_ready:
            return
        name = self.percolate_index
        if not self.client.indices.exists(index=name):
            try:
                self.client.indices.create(index=name, **es_mapping.index_body(self.replicas))
            except BadRequestError as error:
                if error.error != "resource_already_exists_exception":   # another process was first
                    raise
        self._percolate_ready = True

    def _serving_indices(self) -> list[str]:
        try:
            return sorted(self.client.indices.get_alias(name=self.alias))
        except NotFoundError:
            return []

    # ------------------------------------------------------------------ writes

    def upsert(self, documents: list[dict]) -> int:
        """Write through the alias; while a rebuild started here runs, into its index too
        (the service's indexer may also write there: the repeat is a harmless 409)."""
        self.ensure_index()
        changed = self._bulk(self.alias, documents)
        rebuild = self._rebuild
        if rebuild is not None:
            self._bulk(rebuild.index, documents)
        return changed

    def _bulk(self, index: str, documents: list[dict]) -> int:
        changed = 0
        for start in range(0, len(documents), BULK_CHUNK):
            operations = []
            for document in documents[start:start + BULK_CHUNK]:
                source = to_source(document)
                operations.append({"index": {"_id": source["id"], "version": source["version"],
                                             "version_type": VERSION_TYPE}})
                operations.append(source)
            if not operations:
                continue
            response = self.client.bulk(index=index, operations=operations)
            changed_here, errors = count_bulk_changes(response.body)
            if errors:
                raise IndexingFailed(errors)
            changed += changed_here
        return changed

    def refresh(self) -> None:
        self.ensure_index()
        self.client.indices.refresh(index=self.alias)

    def start_rebuild(self) -> "ElasticsearchRebuild":
        """The next index, empty, refresh off for bulk speed. The service must keep writing
        new events to both this backend and the rebuild until ``finish``."""
        self.ensure_index()
        name = self._next_index_name()
        body = es_mapping.index_body(self.replicas, refresh_interval="-1")
        self.client.indices.create(index=name, **body)
        if self._rebuild is not None:
            self._rebuild.abort()
        self._rebuild = ElasticsearchRebuild(self, name)
        return self._rebuild

    # ------------------------------------------------------------------ reads

    def get(self, doc_id: str) -> dict | None:
        self.ensure_index()
        try:
            response = self.client.get(index=self.alias, id=doc_id, source_excludes=["suggest"])
        except NotFoundError:
            return None
        return dict(response["_source"])

    def count(self) -> int:
        self.ensure_index()
        return self.client.count(index=self.alias, query=NOT_DELETED)["count"]

    def search(self, query: SearchQuery) -> SearchResult:
        self.ensure_index()
        response = self.client.search(index=self.alias, body=search_body(query))
        result = parse_search_response(response.body, query)
        if result.total == 0 and can_relax(parse(query.q)):  # none has every word: most of them
            response = self.client.search(index=self.alias, body=search_body(query, relaxed=True))
            result = parse_search_response(response.body, query)
            result.relaxed = True
        return result

    def suggest(self, prefix: str, limit: int = 8) -> list[dict]:
        body = suggest_body(prefix, limit)
        if body is None:
            return []
        self.ensure_index()
        response = self.client.search(index=self.alias, body=body)
        return parse_suggest_response(response.body, limit, prefix)

    def corrections(self, text: str, limit: int = 3) -> list[str]:
        """See the interface: a term suggester over titles and tags (the ``suggest`` field),
        then one ``_msearch`` for how a live document spells each option (two requests, the
        second only when something is misspelt)."""
        body = corrections_body(text, limit)
        if body is None:
            return []
        self.ensure_index()
        response = self.client.search(index=self.alias, body=body)
        text = clean(text)
        misspelt = parse_corrections_response(response.body, text, limit)
        options = sorted({option for _, found in misspelt for option in found})
        if not options:
            return []
        spelt = self.client.msearch(index=self.alias, searches=spelling_searches(options))
        spelling = parse_spelling_response(spelt.body, options)
        replacements = []
        for (start, end), found in misspelt:
            spellings = list(dict.fromkeys(spelt_as_typed(text[start:end], spelling[option])
                                           for option in found if option in spelling))
            if spellings:
                replacements.append(((start, end), spellings))
        return corrected_texts(text, replacements)

    def related(self, doc_id: str, limit: int = 6) -> list[dict]:
        document = self.get(doc_id)
        if document is None or document.get("deleted"):
            return []
        response = self.client.search(index=self.alias, body=related_body(document, limit))
        return [hit_item(hit) for hit in response.body["hits"]["hits"]]

    def matching_queries(self, document: dict, queries: list[str]) -> list[int]:
        """See the interface and the module docstring: three requests per call (write with
        refresh, ``_msearch``, delete), however many queries."""
        queries = list(queries)
        source = to_source(document)
        if source["deleted"] or not queries:
            return []
        scratch_id = _scratch_id()
        searches = []
        for text in queries:
            searches += [{}, percolate_body(text, scratch_id)]
        self.ensure_percolate_index()
        index = self.percolate_index
        self.client.index(index=index, id=scratch_id, document=source, refresh=True)
        try:
            response = self.client.msearch(index=index, searches=searches)
        finally:
            try:
                self.client.delete(index=index, id=scratch_id)
            except Exception as error:    # a leftover is harmless: no other call filters on its id
                log.warning("search: scratch document %s stays in %s: %s", scratch_id, index, error)
        return parse_percolate_response(response.body, len(queries))


class ElasticsearchRebuild:
    """A new index filled beside the serving one (see ``ElasticsearchBackend.start_rebuild``)."""

    def __init__(self, backend: ElasticsearchBackend, index: str):
        self.backend = backend
        self.index = index

    def upsert(self, documents: list[dict]) -> int:
        return self.backend._bulk(self.index, documents)

    def finish(self) -> None:
        client, alias = self.backend.client, self.backend.alias
        client.indices.put_settings(index=self.index,
                                    settings={"index": {"refresh_interval": es_mapping.REFRESH_INTERVAL}})
        client.indices.refresh(index=self.index)
        old = [name for name in self.backend._serving_indices() if name != self.index]
        # one call: searches see either the old index or the new one, never neither
        actions = [{"remove": {"index": name, "alias": alias}} for name in old]
        actions.append({"add": {"index": self.index, "alias": alias}})
        answer = client.indices.update_aliases(actions=actions)
        if answer.get("errors"):        # since 8.14 a failed action is a 200 with errors: true
            raise RuntimeError(f"the alias {alias} was not moved to {self.index}: {answer.body}")
        self._detach()                  # the alias now reaches the new index
        for name in old:
            client.indices.delete(index=name)

    def abort(self) -> None:
        self._detach()
        self.backend.client.indices.delete(index=self.index)

    def _detach(self) -> None:
        if self.backend._rebuild is self:
            self.backend._rebuild = None


# ---------------------------------------------------------------------- documents


def to_source(document: dict) -> dict:
    """The stored form: known fields only (never ``contact``), ``None`` left out, plus the
    ``suggest`` field (title and tags) for autocomplete."""
    if not isinstance(document, dict) or document.get("id") in (None, ""):
        raise ValidationFailed("A search document needs an id.", {"id": ["Missing."]})
    if isinstance(document.get("version"), bool) or not isinstance(document.get("version"), int):
        raise ValidationFailed("A search document needs an integer version.", {"version": ["Missing."]})
    source = {name: document[name] for name in es_mapping.DOCUMENT_FIELDS
              if document.get(name) is not None}
    source["id"] = str(source["id"])
    source["version"] = int(source["version"])
    source["deleted"] = bool(document.get("deleted", False))
    if source["deleted"]:
        return {"id": source["id"], "version": source["version"], "deleted": True}
    location = source.get("location")
    if location is not None:
        source["location"] = {"lat": float(location["lat"]), "lon": float(location["lon"])}
    suggestions = [source["title"]] if source.get("title") else []
    suggestions += [tag for tag in source.get("tags", []) if tag]
    if suggestions:
        source["suggest"] = suggestions
    return source


def count_bulk_changes(response: dict) -> tuple[int, list[dict]]:
    """(documents written, errors) of a ``_bulk`` response; a 409 (older or same version) is no change."""
    changed, errors = 0, []
    for item in response.get("items", []):
        result = next(iter(item.values()))
        status = result.get("status", 0)
        if 200 <= status < 300:
            changed += 1
        elif status != 409:
            errors.append({"id": result.get("_id"), "status": status, "error": result.get("error")})
    return changed, errors


# ---------------------------------------------------------------------- search


def search_body(query: SearchQuery, relaxed: bool = False) -> dict:
    """The JSON body of the ``_search`` request a query becomes (``relaxed``: the second one,
    when no record had every word)."""
    validate_query(query)
    text = text_query(parse(query.q), relaxed)

    # Filters that are no facet narrow hits and facets alike; facet filters go into
    # post_filter, and every facet aggregation applies all *other* facet filters.
    common = [NOT_DELETED] + _doc_type_filter(query) + _date_filter(query) + _geo_filters(query)
    facet_filters = _facet_filters(query)

    bool_query = {"filter": common, **text}

    body = {
        "query": {"bool": bool_query},
        "from": (query.page - 1) * query.per_page,
        "size": query.per_page,
        "sort": _sort(query),
        "track_total_hits": True,
        "track_scores": True,
        "_source": {"excludes": SOURCE_EXCLUDES},
        "aggs": _facet_aggs(facet_filters),
    }
    active = [clause for clause in facet_filters.values() if clause]
    if active:
        body["post_filter"] = {"bool": {"filter": active}}
    if "must" in text or "should" in text:
        body["highlight"] = HIGHLIGHT
    return body


def text_query(parsed, relaxed: bool = False) -> dict:
    """The user's text as clauses of a ``bool`` query: ``must`` (words, phrases) and
    ``must_not`` (excluded words), each only when there are any. Searches and
    ``matching_queries`` both use it, so a saved query matches as it searches. ``relaxed``:
    the words go to ``should`` (at least one, the more the better), phrases stay required."""
    clauses = {}
    words = _word_clauses(parsed)
    phrases = _phrase_clauses(parsed)
    if relaxed and words:
        clauses["should"] = words
        if not phrases:  # with a required phrase the words only rank (as in the tantivy backend)
            clauses["minimum_should_match"] = 1
        words = []
    positive = words + phrases
    if positive:
        clauses["must"] = positive
    excluded = [{"multi_match": {"query": word, "fields": list(es_mapping.TEXT_FIELDS)}}
                for word in parsed.excluded]
    if excluded:
        clauses["must_not"] = excluded
    return clauses


# A "word" with inner punctuation ("Repair-Café") needs all its parts; a stop word alone
# ("und") analyses to nothing and must then not exclude everything.
WORD_OPTIONS = {"operator": "and", "zero_terms_query": "all"}


def _word_clauses(parsed) -> list[dict]:
    """Each word as analysed word, compound prefix or typo; a noun made from an adjective
    or a verb also as its base at the start of words ("Nachhaltigkeit" → "nachhaltig…",
    as tantivy's ``_word_clause``)."""
    clauses = []
    for word in parsed.words:
        should = [
            {"multi_match": {"query": word, "fields": EXACT_FIELDS, **WORD_OPTIONS}},
            {"multi_match": {"query": word, "fields": COMPOUND_FIELDS, "boost": COMPOUND_BOOST,
                             **WORD_OPTIONS}},
            {"multi_match": {"query": word, "fields": EXACT_FIELDS, "fuzziness": "AUTO",
                             "prefix_length": 1, "boost": FUZZY_BOOST, **WORD_OPTIONS}},
        ]
        should += [{"multi_match": {"query": base, "fields": COMPOUND_FIELDS, "boost": COMPOUND_BOOST,
                                    **WORD_OPTIONS}} for base in derivation_bases(word)]
        clauses.append({"bool": {"should": should}})
    return clauses


def _phrase_clauses(parsed) -> list[dict]:
    clauses = []
    for phrase in parsed.phrases:
        # multi_match of type phrase = match_phrase on each field, best field scores
        clauses.append({"multi_match": {"query": " ".join(phrase), "type": "phrase",
                                        "fields": EXACT_FIELDS}})
    return clauses


def _scratch_id() -> str:
    """The id of a document while one ``matching_queries`` call runs (calls run side by side)."""
    return f"percolate-{uuid.uuid4().hex}"


def percolate_body(text: str, scratch_id: str) -> dict:
    """One search of ``matching_queries``: the text as ``search_body`` reads it, on one document."""
    return {
        "query": {"bool": {"filter": [{"ids": {"values": [scratch_id]}}], **text_query(parse(text))}},
        "size": 0,
        "track_total_hits": True,
    }


def parse_percolate_response(response: dict, expected: int) -> list[int]:
    """The positions of the searches of an ``_msearch`` answer that found the document."""
    answers = response.get("responses", [])
    if len(answers) != expected:
        raise PercolateFailed(f"{expected} searches sent, {len(answers)} answered")
    matches = []
    for position, answer in enumerate(answers):
        if "error" in answer:
            raise PercolateFailed(f"query {position} failed: {answer['error']}")
        total = answer["hits"]["total"]
        if (total["value"] if isinstance(total, dict) else int(total)) > 0:
            matches.append(position)
    return matches


def _doc_type_filter(query: SearchQuery) -> list[dict]:
    return [{"term": {"doc_type": query.doc_type}}] if query.doc_type else []


def _date_filter(query: SearchQuery) -> list[dict]:
    """Dated documents (events) whose span [starts_on, ends_on] meets the range; the
    others by their publication date. Bounds are whole days (``||/d``)."""
    if not query.date_from and not query.date_to:
        return []
    low = {"gte": f"{query.date_from}||/d"} if query.date_from else {}
    high = {"lte": f"{query.date_to}||/d"} if query.date_to else {}
    dated = [{"exists": {"field": "starts_on"}}]
    if query.date_to:
        dated.append({"range": {"starts_on": {**high, "format": "strict_date"}}})
    if query.date_from:
        dated.append({"bool": {"should": [
            {"range": {"ends_on": {**low, "format": "strict_date"}}},
            {"bool": {"must_not": [{"exists": {"field": "ends_on"}}],
                      "filter": [{"range": {"starts_on": {**low, "format": "strict_date"}}}]}},
        ]}})
    undated = [{"range": {"published_at": {**low, **high, "format": "strict_date"}}}]
    return [{"bool": {"should": [
        {"bool": {"filter": dated}},
        {"bool": {"must_not": [{"exists": {"field": "starts_on"}}], "filter": undated}},
    ]}}]


def _geo_filters(query: SearchQuery) -> list[dict]:
    filters = []
    if query.bbox is not None:
        min_lon, min_lat, max_lon, max_lat = checked_bbox(query.bbox)
        filters.append({"geo_bounding_box": {"location": {
            "top_left": {"lat": max_lat, "lon": min_lon},
            "bottom_right": {"lat": min_lat, "lon": max_lon}}}})
    if query.near is not None and query.radius_km is not None:
        lat, lon = checked_point(query.near)
        radius = float(query.radius_km)
        if not (math.isfinite(radius) and radius > 0):
            raise ValidationFailed("radius_km must be a positive number", {"radius_km": ["must be > 0"]})
        filters.append({"geo_distance": {"distance": f"{radius}km", "location": {"lat": lat, "lon": lon}}})
    return filters


def _facet_filters(query: SearchQuery) -> dict[str, dict | None]:
    selected = {"theme": query.theme, "region": query.region, "kind": query.kind}
    return {facet: ({"terms": {FACET_FIELDS[facet]: list(values)}} if values else None)
            for facet, values in selected.items()}


def _facet_aggs(facet_filters: dict) -> dict:
    aggs = {}
    for facet in FACETS:
        others = [clause for name, clause in facet_filters.items() if name != facet and clause]
        aggs[facet] = {
            "filter": {"bool": {"filter": others}} if others else {"match_all": {}},
            "aggs": {"values": {"terms": {"field": FACET_FIELDS[facet], "size": FACET_SIZE,
                                          "order": [{"_count": "desc"}, {"_key": "asc"}]}}},
        }
    return aggs


_NEWEST = {"published_at": {"order": "desc", "missing": "_last"}}
_TIE = {"id": {"order": "asc"}}


def _sort(query: SearchQuery) -> list:
    if query.sort == "distance" and query.near is not None:
        lat, lon = checked_point(query.near)
        return [{"_geo_distance": {"location": {"lat": lat, "lon": lon}, "order": "asc", "unit": "km",
                                   "distance_type": "arc", "ignore_unmapped": True}},
                "_score", _TIE]
    if query.sort == "newest":
        return [_NEWEST, "_score", _TIE]
    return ["_score", _NEWEST, _TIE]


# the unified highlighter, HTML-escaping the text; a compound-prefix hit ("Pflege" in
# "Pflegeheim") is only seen on the .compound subfield, so that is highlighted too
HIGHLIGHT = {
    "pre_tags": ["<mark>"],
    "post_tags": ["</mark>"],
    "encoder": "html",
    "fields": {
        "title": {"number_of_fragments": 0},
        "title.compound": {"number_of_fragments": 0},
        "summary": {"number_of_fragments": 0},
        "summary.compound": {"number_of_fragments": 0},
        "body": {"fragment_size": 160, "number_of_fragments": 1},
        "body.compound": {"fragment_size": 160, "number_of_fragments": 1},
    },
}


def parse_search_response(response: dict, query: SearchQuery) -> SearchResult:
    near = checked_point(query.near) if query.near is not None else None
    items = [hit_item(hit, near) for hit in response["hits"]["hits"]]
    total = response["hits"]["total"]
    total = total["value"] if isinstance(total, dict) else int(total)
    aggregations = response.get("aggregations", {})
    facets = {}
    for facet in FACETS:
        buckets = aggregations.get(facet, {}).get("values", {}).get("buckets", [])
        values = [{"value": str(b["key"]), "count": int(b["doc_count"])} for b in buckets if b["doc_count"]]
        facets[facet] = sorted(values, key=lambda v: (-v["count"], v["value"]))
    return SearchResult(total=total, items=items, facets=facets)


def hit_item(hit: dict, near: tuple[float, float] | None = None) -> dict:
    source = hit.get("_source", {})
    item = {name: source.get(name, [] if name in LIST_FIELDS else None) for name in ITEM_FIELDS}
    item["score"] = float(hit.get("_score") or 0.0)
    highlight = {}
    found = hit.get("highlight", {})
    for field in es_mapping.TEXT_FIELDS:
        variants = [" … ".join(found[name]) for name in (field, f"{field}.compound") if found.get(name)]
        if variants:
            highlight[field] = merge_marks(*variants)
    item["highlight"] = highlight
    if near is not None:
        location = source.get("location")
        item["distance_km"] = (round(haversine_km(near[0], near[1], location["lat"], location["lon"]), 3)
                               if location else None)
    return item


_MARK = re.compile(r"<mark>(.*?)</mark>", re.S)


def merge_marks(*variants: str) -> str:
    """One highlight from the field's and its compound subfield's: the plain field marks
    "Pflege", the compound one also "Pflegekräfte". The same text gets the marks of both;
    different fragments (other passages) keep the one with the most marks."""
    if len(variants) == 1:
        return variants[0]
    texts = [_MARK.sub(r"\1", variant) for variant in variants]
    if any(text != texts[0] for text in texts):
        return max(variants, key=lambda variant: len(_MARK.findall(variant)))
    marked = set()
    for variant in variants:
        shift = 0
        for found in _MARK.finditer(variant):
            start = found.start() - shift
            marked.update(range(start, start + len(found.group(1))))
            shift += len("<mark></mark>")
    text, out, inside = texts[0], [], False
    for index, char in enumerate(text):
        if (index in marked) != inside:
            out.append("</mark>" if inside else "<mark>")
            inside = not inside
        out.append(char)
    if inside:
        out.append("</mark>")
    return "".join(out)


# ---------------------------------------------------------------------- suggest, related

SUGGEST_FIELDS = ["suggest", "suggest._2gram", "suggest._3gram"]
MAX_SUGGEST_CHARS = 100


def suggest_body(prefix: str, limit: int) -> dict | None:
    """``search_as_you_type`` with ``bool_prefix``: every typed word must start a word of
    the title or a tag (the last one may be unfinished). ``None`` when nothing was typed."""
    words = parse(prefix).positive_words()
    text = " ".join(words)[:MAX_SUGGEST_CHARS].strip()
    if not text:
        return None
    return {
        "query": {"bool": {
            "must": [{"multi_match": {"query": text, "type": "bool_prefix", "operator": "and",
                                      "fields": SUGGEST_FIELDS}}],
            "filter": [NOT_DELETED],
        }},
        "size": max(1, min(int(limit), 50)) * 2,   # room for titles that repeat
        "_source": {"includes": ["id", "title", "tags", "doc_type", "kind"]},
        "sort": ["_score", _TIE],
    }


def corrections_body(text: str, limit: int) -> dict | None:
    """The term suggester for each word of ``text`` no title or tag has (``missing``), most
    frequent options first; and whether the last word, if still being typed, begins one
    (then it is not misspelt, only unfinished). ``None`` for a text without words."""
    text = clean(text)
    words = WORD_PATTERN.findall(text)
    if not words:
        return None
    body = {
        "size": 0,
        "query": {"bool": {"filter": [NOT_DELETED]}},
        "suggest": {"text": text, "words": {"term": {
            "field": "suggest", "suggest_mode": "missing", "sort": "frequency", "size": max(1, limit) * 2,
            "max_edits": 2, "prefix_length": 1, "min_word_length": 5, "string_distance": "damerau_levenshtein"}}},
        "track_total_hits": 1,
    }
    if text.endswith(words[-1]):
        body["query"]["bool"]["filter"].append({"prefix": {"suggest": _folded_words(words[-1])[0]}})
    else:
        body["query"]["bool"]["filter"].append({"match_none": {}})
    return body


def parse_corrections_response(response: dict, text: str, limit: int) -> list[tuple[tuple[int, int], list[str]]]:
    """(span in ``text``, options as the index holds them) of each misspelt word: options
    within the word's typo distance (``analysis.fuzzy_distance``, as tantivy's), at most
    ``limit``; an unfinished last word that begins a known one is left alone."""
    unfinished_is_known = response["hits"]["total"]["value"] > 0
    found = []
    for entry in response.get("suggest", {}).get("words", []):
        start, end = entry["offset"], entry["offset"] + entry["length"]
        word = text[start:end]
        if (end == len(text) and unfinished_is_known) or word.lower() in STOP_WORDS:
            continue
        folded = _folded_words(word)
        distance = fuzzy_distance(word)
        options = [option["text"] for option in entry.get("options", [])
                   if len(folded) == 1 and OSA.distance(folded[0], option["text"], score_cutoff=distance) <= distance]
        if options:
            found.append(((start, end), options[:limit]))
    return found


def spelling_searches(options: list[str]) -> list[dict]:
    """One search per option: a live document whose title or tags hold it."""
    searches = []
    for option in options:
        searches += [{}, {"size": 1, "query": {"bool": {"filter": [NOT_DELETED, {"term": {"suggest": option}}]}},
                          "_source": {"includes": ["title", "tags"]}}]
    return searches


def parse_spelling_response(response: dict, options: list[str]) -> dict[str, str]:
    """option → how the title or tag of its document writes it (options no live document
    spells are left out)."""
    spelling = {}
    for option, answer in zip(options, response["responses"]):
        for hit in answer.get("hits", {}).get("hits", [])[:1]:
            source = hit["_source"]
            for text in [source.get("title") or ""] + list(source.get("tags") or []):
                original = next((w for w in WORD_PATTERN.findall(text) if _folded_words(w) == [option]), None)
                if original is not None:
                    spelling[option] = original
                    break
    return spelling


def parse_suggest_response(response: dict, limit: int, prefix: str = "") -> list[dict]:
    """One suggestion per distinct text: the title, or the tag the typed words start."""
    typed = _folded_words(" ".join(parse(prefix).positive_words()))
    suggestions, seen = [], set()
    for hit in response["hits"]["hits"]:
        source = hit["_source"]
        candidates = [source.get("title")] + list(source.get("tags") or [])
        text = next((c for c in candidates if c and _starts_words(c, typed)), source.get("title"))
        if not text or text.casefold() in seen:
            continue
        seen.add(text.casefold())
        suggestions.append({"text": text, "id": source["id"], "doc_type": source.get("doc_type"),
                            "kind": source.get("kind")})
        if len(suggestions) >= limit:
            break
    return suggestions


_SPELT_OUT = (("ae", "a"), ("oe", "o"), ("ue", "u"))


def _folded_words(text: str) -> list[str]:
    """Words as the ``german_folded`` analyzer sees them (lowercase, umlauts and their
    spelt-out forms alike, accents gone) — to tell which title or tag was matched."""
    text = text.lower().replace("ß", "ss")
    text = text.replace("ä", "a").replace("ö", "o").replace("ü", "u")
    for spelt, vowel in _SPELT_OUT:
        text = re.sub(rf"(?<!q){spelt}" if spelt == "ue" else spelt, vowel, text)
    text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return re.findall(r"[^\W_]+", text)


def _starts_words(text: str, typed: list[str]) -> bool:
    words = _folded_words(text)
    return bool(typed) and all(any(w.startswith(t) for w in words) for t in typed)


def related_body(document: dict, limit: int) -> dict:
    """more_like_this on the text of ``document`` (by id), plus shared themes and region."""
    should = [{"more_like_this": {
        "fields": list(es_mapping.TEXT_FIELDS),
        "like": [{"_id": document["id"]}],
        "min_term_freq": 1, "min_doc_freq": 1, "min_word_length": 3, "max_query_terms": 25,
        "minimum_should_match": 1}}]
    if document.get("themes"):
        should.append({"terms": {"themes": list(document["themes"]), "boost": 0.5}})
    if document.get("regions"):
        should.append({"terms": {"regions": list(document["regions"]), "boost": 0.3}})
    return {
        "query": {"bool": {
            "should": should,
            "minimum_should_match": 1,
            "filter": [NOT_DELETED],
            "must_not": [{"ids": {"values": [document["id"]]}}],
        }},
        "size": max(1, min(int(limit), 50)),
        "_source": {"excludes": SOURCE_EXCLUDES},
    }
