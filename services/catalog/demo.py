"""Load the demo data of ``services/catalog/demo/`` through the domain (idempotent by slug).

Used by ``kosi run`` (``LOAD_DEMO_DATA=true``). Every record is marked ``demo``; events
go through the outbox like any other change.
"""
import json
import logging
from datetime import datetime
from pathlib import Path

from kernel.errors import Conflict
from services.catalog import articles as article_domain
from services.catalog import entries as entry_domain
from services.catalog import links as link_domain
from services.catalog import organisations as organisation_domain
from services.catalog.models import articles

log = logging.getLogger(__name__)
DEMO_DIR = Path(__file__).parent / "demo"
LOADER = {"sub": "demo-loader", "roles": ["admin"]}

# the demo files use German organisation kinds and descriptive link names
ORGANISATION_KINDS = {"verein": "association", "genossenschaft": "cooperative", "kommune": "municipality",
                      "unternehmen": "social_enterprise", "stiftung": "foundation", "hochschule": "research",
                      "initiative": "initiative", "verband": "association"}
LINK_TYPES = {"partner_of": "partner", "funded_by": "funded_by", "run_by": "run_by", "part_of": "part_of",
              "follow_up_of": "follows_up", "similar_to": "related", "member_of": "member_of"}


def _read(name):
    return json.loads((DEMO_DIR / f"{name}.json").read_text(encoding="utf-8"))


def load_demo(make_uow) -> dict:
    counts = {"organisations": 0, "entries": 0, "links": 0, "articles": 0}
    for org in _read("organisations"):
        with make_uow() as uow:
            if organisation_domain.find(uow.session, org["slug"]) is None:
                organisation_domain.create_organisation(uow, {
                    "slug": org["slug"], "name": org["name"], "kind": ORGANISATION_KINDS[org["kind"]],
                    "description": org.get("description"), "website": org.get("website"),
                    "region": org.get("region"), "location": {"lat": org["lat"], "lon": org["lon"]},
                    "demo": True}, LOADER)
                counts["organisations"] += 1
    for entry in _read("entries"):
        with make_uow() as uow:
            if entry_domain.find_entry(uow.session, entry["slug"]) is None:
                _create_entry(uow, entry)
                counts["entries"] += 1
    for link in _read("links"):
        with make_uow() as uow:
            try:
                link_domain.add_link(uow, link["source"], {
                    "target_type": link["target_type"], "target_id": link["target"],
                    "type": LINK_TYPES[link["type"]], "note": None}, LOADER)
                counts["links"] += 1
            except Conflict:
                pass  # loaded before
    for article in _read("articles"):
        with make_uow() as uow:
            if uow.session.execute(articles.select().where(articles.c.slug == article["slug"])).first() is None:
                article_domain.create_article(uow, {
                    **{key: article.get(key) for key in ("slug", "type", "title", "summary", "body", "themes",
                                                         "regions", "author")},
                    "published_at": datetime.fromisoformat(article["published_at"]), "demo": True}, LOADER)
                counts["articles"] += 1
    log.info("demo data loaded: %s", counts)
    return counts


def _create_entry(uow, entry):
    organisation_ids = [organisation_domain.find(uow.session, slug).id for slug in entry.get("organisations", [])]
    data = {key: entry.get(key) for key in ("slug", "kind", "title", "summary", "description", "themes", "tags",
                                            "address", "region", "links", "funding", "image_url", "licence",
                                            "language", "contact")}
    data.update(location={"lat": entry["lat"], "lon": entry["lon"]}, organisations=organisation_ids, demo=True,
                starts_on=_date(entry.get("starts_on")), ends_on=_date(entry.get("ends_on")))
    status = entry.get("status", "published")
    # submissions come from the public: no actor, so they wait for review like real ones
    created = entry_domain.create_entry(uow, data, None if status == "submitted" else LOADER)
    if status == "archived":
        entry_domain.review_entry(uow, created["id"], {"action": "archive", "reason": None}, LOADER)


def _date(text):
    return datetime.strptime(text, "%Y-%m-%d").date() if text else None
