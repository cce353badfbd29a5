"""Open data: the settings of the open-data routes and the DCAT-AP.de description of their datasets.

The datasets are the catalog's public data as the gateway serves them (``gateway/open_data_routes.py``):
entries (CSV, GeoJSON, an Atom feed of the newest), upcoming events (iCalendar) and news (Atom).
The description depends on configuration only, so it is built once per process and per format,
and the same configuration gives the same bytes in every replica (the ETag is their hash).

What DCAT-AP.de makes mandatory (the specification 2.0, the conventions handbook 2.0 and the
draft of 3.0, see README "Open data"): a ``dcat:Catalog`` with ``dct:title``, ``dct:description``,
``dct:publisher`` and ``dcat:dataset``; each ``dcat:Dataset`` with ``dct:title``,
``dct:description`` and ``dct:publisher``; each ``dcat:Distribution`` with ``dcat:accessURL`` and
a ``dct:license`` from http://dcat-ap.de/def/licenses/; each ``foaf:Agent`` with ``foaf:name``.
``dct:format`` from the EU file-type vocabulary, ``dcat:mediaType``, ``dcat:distribution``,
``dcat:theme`` and ``dct:spatial`` are recommended and given too. ``dcatde:contributorID`` is
required only of those who deliver to GovData directly, with an id GovData assigns: it is given
when ``OPEN_DATA_CONTRIBUTOR_ID`` is set.
"""
import json
import re
from dataclasses import dataclass

from marshmallow import fields, validate
from nameko import config as nameko_config
from nameko.extensions import DependencyProvider
from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, RDF

from kernel.schemas import InputSchema, described

API = "/api/v1"
LICENCES = "http://dcat-ap.de/def/licenses/"
CONTRIBUTORS = "http://dcat-ap.de/def/contributors/"
DEFAULT_LICENCE = LICENCES + "cc-by/4.0"
DEFAULT_PUBLISHER = "Kompetenzzentrum Soziale Innovation Sachsen-Anhalt"
DEFAULT_BASE_URL = "http://localhost:8000"
DEFAULT_PAGE_SIZE = 500
_BASE_URL = re.compile(r"^https?://[^/\s?#]+(?:/[^\s?#]*)?$")

DCATDE = Namespace("http://dcat-ap.de/def/dcatde/")
FILE_TYPE = Namespace("http://publications.europa.eu/resource/authority/file-type/")
MEDIA_TYPE = "http://www.iana.org/assignments/media-types/"
GERMAN = URIRef("http://publications.europa.eu/resource/authority/language/DEU")
DATA_THEMES = URIRef("http://publications.europa.eu/resource/authority/data-theme")
SOCIETY = URIRef("http://publications.europa.eu/resource/authority/data-theme/SOCI")  # Bevölkerung und Gesellschaft
SAXONY_ANHALT = URIRef("http://dcat-ap.de/def/politicalGeocoding/stateKey/15")

TURTLE, JSON_LD = "text/turtle", "application/ld+json"
RDF_FORMATS = {"ttl": TURTLE, "jsonld": JSON_LD}
CONTEXT = {"dcat": str(DCAT), "dct": str(DCTERMS), "foaf": str(FOAF), "dcatde": str(DCATDE)}


class OpenDataQuerySchema(InputSchema):
    """Query of ``GET /open-data``: the serialisation, when ``Accept`` is not to decide it."""
    format = fields.String(validate=validate.OneOf(tuple(RDF_FORMATS)),
                           **described("ttl (Turtle) or jsonld (JSON-LD); overrides the Accept header"))


# ---------------------------------------------------------------------------- settings

@dataclass(frozen=True)
class Settings:
    base_url: str        # the public address of the gateway, without a trailing slash
    publisher: str
    licence: str         # a URI of the DCAT-AP.de licence vocabulary
    attribution: str     # the text a "by" licence asks users to name
    contributor_id: str  # empty, or GovData's dcat-ap.de/def/contributors/… id of the publisher
    page_size: int       # entries per RPC page of an export

    @classmethod
    def from_config(cls, config) -> "Settings":
        base_url = str(config.get("PUBLIC_BASE_URL") or DEFAULT_BASE_URL).strip().rstrip("/")
        if not _BASE_URL.match(base_url):
            raise ValueError(f"PUBLIC_BASE_URL must be an http(s) URL, not {base_url!r}")
        licence = str(config.get("OPEN_DATA_LICENCE") or DEFAULT_LICENCE).strip()
        if not licence.startswith(LICENCES) or len(licence) == len(LICENCES) or re.search(r"\s", licence):
            raise ValueError(f"OPEN_DATA_LICENCE must be a licence of the DCAT-AP.de vocabulary ({LICENCES}…), "
                             f"e.g. {LICENCES}dl-by-de/2.0 or {LICENCES}cc-by/4.0, not {licence!r}")
        contributor = str(config.get("OPEN_DATA_CONTRIBUTOR_ID") or "").strip()
        if contributor and (not contributor.startswith(CONTRIBUTORS) or re.search(r"\s", contributor)):
            raise ValueError(f"OPEN_DATA_CONTRIBUTOR_ID must be a URI {CONTRIBUTORS}… (GovData assigns it)")
        page_size = config.get("OPEN_DATA_PAGE_SIZE")
        page_size = DEFAULT_PAGE_SIZE if page_size in (None, "") else int(page_size)
        if not 1 <= page_size <= 2000:
            raise ValueError("OPEN_DATA_PAGE_SIZE must lie between 1 and 2000")
        publisher = str(config.get("OPEN_DATA_PUBLISHER") or DEFAULT_PUBLISHER).strip()
        attribution = str(config.get("OPEN_DATA_ATTRIBUTION") or "").strip() or publisher
        return cls(base_url, publisher, licence, attribution, contributor, page_size)

    @property
    def attribution_required(self) -> bool:
        """A "by" licence (dl-by-de, cc-by, cc-by-sa, odc-by …): users name the source."""
        return bool(re.search(r"(?:^|-)by(?:-|/|$)", self.licence.removeprefix(LICENCES)))

    def url(self, path: str) -> str:
        """The public URL of a path under the API prefix."""
        return f"{self.base_url}{API}{path}"


class OpenData(DependencyProvider):
    """Injects ``OpenDataService``: the settings (checked when the gateway starts; it refuses to
    start with a licence outside the vocabulary) and the DCAT document, built once."""

    def setup(self):
        self.service = OpenDataService(Settings.from_config(nameko_config))

    def get_dependency(self, worker_ctx):
        return self.service


class OpenDataService:
    def __init__(self, settings: Settings):
        self.settings = settings
        self._documents = {}

    def document(self, fmt: str) -> str:
        if fmt not in self._documents:
            self._documents[fmt] = serialise(catalog_graph(self.settings), fmt)
        return self._documents[fmt]


# ---------------------------------------------------------------------------- the datasets

@dataclass(frozen=True)
class Distribution:
    key: str
    path: str
    title: str
    file_type: str    # of the EU file-type vocabulary
    media_type: str   # IANA
    download: bool    # a file (downloadURL too), not a feed


@dataclass(frozen=True)
class Dataset:
    key: str
    title: str
    description: str
    keywords: tuple
    distributions: tuple


DATASETS = (
    Dataset("entries", "Soziale Innovationen in Sachsen-Anhalt",
            "Veröffentlichte Projekte, Ideen, Initiativen und Veranstaltungen der Wissensplattform: Titel, "
            "Kurzbeschreibung, Beschreibung, Themen, Schlagworte, Adresse und Lage, Landkreis (AGS), Zeitraum, "
            "Förderung, Links und beteiligte Organisationen. Ohne personenbezogene Kontaktdaten. Filterbar "
            "nach kind, theme, region, tag und organisation.",
            ("Soziale Innovation", "Projekte", "Initiativen", "Sachsen-Anhalt"),
            (Distribution("csv", "/entries.csv", "CSV (UTF-8 mit BOM, Semikolon)", "CSV", "text/csv", True),
             Distribution("geojson", "/entries.geojson", "GeoJSON (Einträge mit Lage)", "GEOJSON",
                          "application/geo+json", True),
             Distribution("atom", "/entries.atom", "Atom-Feed der zuletzt veröffentlichten Einträge", "ATOM",
                          "application/atom+xml", False))),
    Dataset("events", "Veranstaltungen zu sozialer Innovation in Sachsen-Anhalt",
            "Kommende veröffentlichte Veranstaltungen als Kalender (ganztägige Termine, Zeitzone "
            "Europe/Berlin), filterbar nach theme und region.",
            ("Veranstaltungen", "Kalender", "Soziale Innovation", "Sachsen-Anhalt"),
            (Distribution("ics", "/events.ics", "iCalendar-Abonnement", "ICS", "text/calendar", False),)),
    Dataset("news", "Neuigkeiten des Kompetenzzentrums",
            "Neuigkeiten zur Arbeit des Kompetenzzentrums Soziale Innovation Sachsen-Anhalt, neueste zuerst, "
            "filterbar nach theme und region.",
            ("Neuigkeiten", "Soziale Innovation", "Sachsen-Anhalt"),
            (Distribution("atom", "/news.atom", "Atom-Feed", "ATOM", "application/atom+xml", False),)),
)


def catalog_graph(settings: Settings) -> Graph:
    """The DCAT-AP.de description of the open data (no blank nodes: every node has a URI under
    the document's, so both serialisations are the same bytes every time)."""
    graph = Graph(bind_namespaces="none")
    for prefix, namespace in CONTEXT.items():
        graph.bind(prefix, Namespace(namespace))
    home = settings.url("/open-data")
    catalog, publisher, licence = URIRef(home), URIRef(home + "#publisher"), URIRef(settings.licence)

    def text(value: str) -> Literal:
        return Literal(value, lang="de")

    graph.add((publisher, RDF.type, FOAF.Agent))
    graph.add((publisher, FOAF.name, Literal(settings.publisher)))
    graph.add((catalog, RDF.type, DCAT.Catalog))
    graph.add((catalog, DCTERMS.title, text(f"Offene Daten: {settings.publisher}")))
    graph.add((catalog, DCTERMS.description, text(
        "Offene Daten der Wissensplattform zu sozialer Innovation in Sachsen-Anhalt: Projekte, Ideen, "
        "Initiativen, Veranstaltungen und Neuigkeiten, ohne personenbezogene Daten.")))
    graph.add((catalog, DCTERMS.publisher, publisher))
    graph.add((catalog, DCTERMS.language, GERMAN))
    graph.add((catalog, DCTERMS.license, licence))
    graph.add((catalog, DCTERMS.spatial, SAXONY_ANHALT))
    graph.add((catalog, DCAT.themeTaxonomy, DATA_THEMES))
    graph.add((catalog, FOAF.homepage, URIRef(settings.url("/docs"))))
    for dataset in DATASETS:
        node = URIRef(f"{home}#{dataset.key}")
        graph.add((catalog, DCAT.dataset, node))
        graph.add((node, RDF.type, DCAT.Dataset))
        graph.add((node, DCTERMS.title, text(dataset.title)))
        graph.add((node, DCTERMS.description, text(dataset.description)))
        graph.add((node, DCTERMS.publisher, publisher))
        graph.add((node, DCTERMS.language, GERMAN))
        graph.add((node, DCTERMS.spatial, SAXONY_ANHALT))
        graph.add((node, DCAT.theme, SOCIETY))
        for keyword in dataset.keywords:
            graph.add((node, DCAT.keyword, text(keyword)))
        if settings.contributor_id:
            graph.add((node, DCATDE.contributorID, URIRef(settings.contributor_id)))
        for distribution in dataset.distributions:
            part = URIRef(f"{home}#{dataset.key}-{distribution.key}")
            url = URIRef(settings.url(distribution.path))
            graph.add((node, DCAT.distribution, part))
            graph.add((part, RDF.type, DCAT.Distribution))
            graph.add((part, DCTERMS.title, text(distribution.title)))
            graph.add((part, DCAT.accessURL, url))
            if distribution.download:
                graph.add((part, DCAT.downloadURL, url))
            graph.add((part, DCTERMS.format, FILE_TYPE[distribution.file_type]))
            graph.add((part, DCAT.mediaType, URIRef(MEDIA_TYPE + distribution.media_type)))
            graph.add((part, DCTERMS.license, licence))
            if settings.attribution_required:
                graph.add((part, DCATDE.licenseAttributionByText, text(settings.attribution)))
    return graph


def serialise(graph: Graph, fmt: str) -> str:
    """Turtle, or compacted JSON-LD whose nodes and values are sorted (rdflib's order of them
    follows Python's per-process string hashing)."""
    if fmt == "ttl":
        return graph.serialize(format="turtle")
    document = json.loads(graph.serialize(format="json-ld", context=CONTEXT, auto_compact=True))
    nodes = document.get("@graph") or [{key: value for key, value in document.items() if key != "@context"}]
    for node in nodes:
        for key, value in node.items():
            if isinstance(value, list):
                node[key] = sorted(value, key=lambda item: json.dumps(item, sort_keys=True))
    document = {"@context": CONTEXT, "@graph": sorted(nodes, key=lambda node: node.get("@id", ""))}
    return json.dumps(document, ensure_ascii=False, indent=2, sort_keys=True) + "\n"


def negotiated_format(request, asked: str | None) -> str:
    """``?format=`` if given, else the better of Turtle and JSON-LD for ``Accept`` (Turtle when it
    names neither; ``application/json`` gets JSON-LD)."""
    if asked:
        return asked
    best = request.accept_mimetypes.best_match([TURTLE, JSON_LD, "application/json"], default=TURTLE)
    return "ttl" if best == TURTLE else "jsonld"
