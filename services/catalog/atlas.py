"""The map and the network: published entries placed and connected (plain Python)."""
import sqlalchemy as sa

from services.catalog import entries as catalog_entries
from services.catalog import geo
from services.catalog.links import links_of_published
from services.catalog.models import entries, entry_themes, organisations
from services.catalog.network import build_network


def _published(query: dict) -> sa.Select:
    select = sa.select(entries.c.id).where(entries.c.status == "published")
    if query.get("kind"):
        select = select.where(entries.c.kind == query["kind"])
    if query.get("region"):
        select = select.where(entries.c.region == query["region"])
    if query.get("theme"):
        select = select.where(entries.c.id.in_(
            sa.select(entry_themes.c.entry_id).where(entry_themes.c.theme_slug == query["theme"])))
    return select


def map_features(uow, query: dict) -> dict:
    """GeoJSON FeatureCollection of published entries in ``bbox``, clustered by ``zoom``."""
    bbox = geo.parse_bbox(query["bbox"]) if query.get("bbox") else geo.STATE_BBOX
    min_lon, min_lat, max_lon, max_lat = bbox
    ids = _published(query).where(entries.c.lat.between(min_lat, max_lat),
                                  entries.c.lon.between(min_lon, max_lon))
    session = uow.session
    rows = session.execute(sa.select(entries.c.id, entries.c.slug, entries.c.lat, entries.c.lon, entries.c.kind,
                                     entries.c.title, entries.c.region)
                           .where(entries.c.id.in_(ids))).all()
    themes_of: dict[str, list] = {row.id: [] for row in rows}
    for entry_id, slug in session.execute(sa.select(entry_themes.c.entry_id, entry_themes.c.theme_slug)
                                          .where(entry_themes.c.entry_id.in_(ids))
                                          .order_by(entry_themes.c.theme_slug)):
        themes_of[entry_id].append(slug)
    points = [{"id": row.id, "slug": row.slug, "lat": row.lat, "lon": row.lon, "kind": row.kind, "title": row.title,
               "region": row.region, "themes": themes_of[row.id]} for row in rows]
    return geo.feature_collection(geo.cluster(points, bbox, query.get("zoom", 8)), bbox)


def network(uow, query: dict) -> dict:
    """Nodes (published entries matching the filters, at most ``limit`` of them, the most
    recently published first; the organisations they link to) and typed edges; ``truncated``
    when more entries matched."""
    session = uow.session
    select = _published(query)
    if query.get("bbox"):
        min_lon, min_lat, max_lon, max_lat = geo.parse_bbox(query["bbox"])
        select = select.where(entries.c.lat.between(min_lat, max_lat), entries.c.lon.between(min_lon, max_lon))
    limit = query.get("limit", 500)
    ids = session.execute(select.order_by(entries.c.published_at.desc(), entries.c.id).limit(limit + 1)).scalars().all()
    truncated, ids = len(ids) > limit, ids[:limit]
    entry_records = list(catalog_entries.public_entries(session, ids).values())
    organisation_records = [
        {"id": row.id, "name": row.name, "kind": row.kind, "region": row.region, "themes": []}
        for row in session.execute(sa.select(organisations))]
    graph = _connected(entry_records, organisation_records, links_of_published(session, ids))
    return {**graph, "truncated": truncated}


def _connected(entry_records, organisation_records, links) -> dict:
    graph = build_network(entry_records, organisation_records, links)
    # organisations nobody in the (filtered) entry set links to would only clutter the view
    graph["nodes"] = [node for node in graph["nodes"] if node["type"] == "entry" or node["degree"]]
    return graph
