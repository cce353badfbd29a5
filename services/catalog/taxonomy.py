"""Themes and regions: listings with counts, and the checks entries need against them."""
import json
from functools import lru_cache
from pathlib import Path

import sqlalchemy as sa

from kernel.errors import ValidationFailed
from services.catalog import geo
from services.catalog.models import entries, entry_themes, regions, themes
from contracts.catalog.api import RegionSchema, ThemeSchema

_PUBLISHED = entries.c.status == "published"


def list_themes(uow) -> list[dict]:
    """Every theme with ``entry_count`` = published entries tagged with it."""
    counts = (sa.select(entry_themes.c.theme_slug, sa.func.count().label("n"))
              .select_from(entry_themes.join(entries, entries.c.id == entry_themes.c.entry_id))
              .where(_PUBLISHED).group_by(entry_themes.c.theme_slug).subquery())
    query = (sa.select(themes, sa.func.coalesce(counts.c.n, 0).label("entry_count"))
             .outerjoin(counts, counts.c.theme_slug == themes.c.slug)
             .order_by(themes.c.kind, themes.c.label))
    return ThemeSchema(many=True).dump([row._asdict() for row in uow.session.execute(query)])


def list_regions(uow) -> list[dict]:
    """Every region with ``entry_count`` = published entries in it."""
    counts = (sa.select(entries.c.region, sa.func.count().label("n"))
              .where(_PUBLISHED, entries.c.region.is_not(None)).group_by(entries.c.region).subquery())
    query = (sa.select(regions, sa.func.coalesce(counts.c.n, 0).label("entry_count"))
             .outerjoin(counts, counts.c.region == regions.c.ags)
             .order_by(regions.c.name))
    return RegionSchema(many=True).dump([row._asdict() for row in uow.session.execute(query)])


BOUNDARIES = Path(__file__).parent / "reference" / "district-boundaries.geojson"


@lru_cache(maxsize=1)
def _boundaries() -> dict:
    return json.loads(BOUNDARIES.read_text(encoding="utf-8"))


def region_boundaries(uow) -> dict:
    """The districts' official boundaries (BKG VG250, simplified; web/scripts/district-boundaries.mjs)
    as a GeoJSON FeatureCollection, each with its name and ``entry_count``, and the data's
    attribution, which its licence (GeoNutzV) asks every map showing them to carry."""
    counted = {region["ags"]: region for region in list_regions(uow)}
    source = _boundaries()
    features = [{"type": "Feature", "geometry": feature["geometry"],
                 "properties": {"ags": ags, "name": counted[ags]["name"], "entry_count": counted[ags]["entry_count"]}}
                for feature in source["features"] if (ags := feature["properties"]["ags"]) in counted]
    return {"type": "FeatureCollection", "attribution": source["metadata"]["attribution"], "features": features}


def region_rows(session) -> list[dict]:
    return [row._asdict() for row in session.execute(sa.select(regions).order_by(regions.c.ags))]


def _check_known(session, column, values, field: str, noun: str) -> list[str]:
    """The values, de-duplicated in order; any not in ``column`` is a ``ValidationFailed``."""
    wanted = list(dict.fromkeys(values))
    known = set(session.execute(sa.select(column).where(column.in_(wanted))).scalars())
    unknown = [value for value in wanted if value not in known]
    if unknown:
        raise ValidationFailed(f"unknown {noun}", {field: [f"unknown {noun}: {value}" for value in unknown]})
    return wanted


def check_themes(session, slugs, field: str = "themes") -> list[str]:
    return _check_known(session, themes.c.slug, slugs, field, "theme")


def check_regions(session, ags_list, field: str = "regions") -> list[str]:
    return _check_known(session, regions.c.ags, ags_list, field, "region")


def place(session, location: dict | None, region: str | None) -> str | None:
    """The region of an entry or organisation: the given one (must exist), else derived
    from the location. A location must lie inside Saxony-Anhalt."""
    if location is not None and not geo.in_state(location["lat"], location["lon"]):
        raise ValidationFailed("the location is outside Saxony-Anhalt",
                               {"location": ["must lie inside Saxony-Anhalt"]})
    if region is not None:
        check_regions(session, [region], field="region")
        return region
    if location is not None:
        return geo.region_for_point(location["lat"], location["lon"], region_rows(session))
    return None
