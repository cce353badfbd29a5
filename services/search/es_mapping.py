"""The Elasticsearch index definition: German analysis, fields, facets, geo, suggestions.

Written out explicitly (``dynamic: strict``) so nothing is guessed by Elasticsearch and a
field that is not listed here — above all an entry's ``contact`` — is refused by the index
itself, not only dropped by ``es_backend``. Bump ``MAPPING_VERSION`` whenever this changes:
a changed mapping needs a rebuild (``start_rebuild`` creates the next ``<prefix>-v<N>``
index with the new definition, ``finish`` moves the alias to it).
"""

MAPPING_VERSION = 1

# What a stored search document may contain (see services/search/documents.py); the
# backend drops every other key before writing.
DOCUMENT_FIELDS = (
    "id", "doc_type", "kind", "slug", "title", "summary", "body", "themes", "tags",
    "regions", "organisations", "location", "starts_on", "ends_on", "published_at",
    "version", "deleted",
)

# The text fields searched, highlighted and compared by more_like_this.
TEXT_FIELDS = ("title", "summary", "body")

ANALYSIS = {
    "filter": {
        "german_stop": {"type": "stop", "stopwords": "_german_"},
        # The light stemmer: "Genossenschaften" -> "genossenschaft", without the
        # over-stemming of the full "german" stemmer.
        "german_light_stem": {"type": "stemmer", "language": "light_german"},
        # Compounds without a dictionary: the prefixes and suffixes of each (normalised,
        # stemmed) word are indexed, so "pfleg" ("Pflege") meets "pflegeheim",
        # "pflegekraft" and "altenpfleg". Index side only; queries use german_text.
        "compound_prefixes": {"type": "edge_ngram", "min_gram": 4, "max_gram": 24},
        "compound_parts": {"type": "multiplexer",
                           "filters": ["compound_prefixes", "reverse, compound_prefixes, reverse"]},
    },
    "analyzer": {
        # ä/ae -> a, ö/oe -> o, ü/ue -> u, ß -> ss (german_normalization), then any other
        # accent folded away: "Aerzte" and "Ärzte" both become "arzt".
        "german_text": {
            "type": "custom",
            "tokenizer": "standard",
            "filter": ["lowercase", "german_stop", "german_normalization", "asciifolding",
                       "german_light_stem"],
        },
        "german_compound_index": {
            "type": "custom",
            "tokenizer": "standard",
            "filter": ["lowercase", "german_stop", "german_normalization", "asciifolding",
                       "german_light_stem", "compound_parts", "remove_duplicates"],
        },
        # Autocomplete keeps words as typed (no stemming: a prefix is not a word yet).
        "german_folded": {
            "type": "custom",
            "tokenizer": "standard",
            "filter": ["lowercase", "german_normalization", "asciifolding"],
        },
    },
}


def _text(compound: bool = True) -> dict:
    field = {"type": "text", "analyzer": "german_text"}
    if compound:
        field["fields"] = {
            "compound": {
                "type": "text",
                "analyzer": "german_compound_index",
                "search_analyzer": "german_text",
            }
        }
    return field


MAPPINGS = {
    "dynamic": "strict",
    "_meta": {"mapping_version": MAPPING_VERSION},
    "properties": {
        "id": {"type": "keyword"},
        "doc_type": {"type": "keyword"},
        "kind": {"type": "keyword"},
        "slug": {"type": "keyword", "index": False},
        "title": _text(),
        "summary": _text(),
        "body": _text(),
        "themes": {"type": "keyword"},
        "tags": {"type": "keyword"},
        "regions": {"type": "keyword"},
        "organisations": {"type": "text", "analyzer": "german_text",
                          "fields": {"raw": {"type": "keyword"}}},
        "location": {"type": "geo_point"},
        "starts_on": {"type": "date", "format": "strict_date"},
        "ends_on": {"type": "date", "format": "strict_date"},
        "published_at": {"type": "date", "format": "strict_date_optional_time"},
        "version": {"type": "long"},
        "deleted": {"type": "boolean"},
        # Title and tags, filled by the backend; queried with a bool_prefix multi_match
        # over the field and its shingle subfields.
        "suggest": {"type": "search_as_you_type", "analyzer": "german_folded",
                    "max_shingle_size": 3},
    },
}

# How fresh searches are: a publication must be searchable within ~300 ms (issue 3), so
# refresh more often than Elasticsearch's default 1 s. A rebuild index is created with
# refresh disabled (bulk speed) and switched to this value by ``Rebuild.finish``.
REFRESH_INTERVAL = "200ms"


def index_body(replicas: int = 1, refresh_interval: str = REFRESH_INTERVAL) -> dict:
    """Settings and mappings for ``indices.create``."""
    return {
        "settings": {
            "index": {
                "number_of_shards": 1,
                "number_of_replicas": replicas,
                "refresh_interval": refresh_interval,
            },
            "analysis": ANALYSIS,
        },
        "mappings": MAPPINGS,
    }
