"""Listing and filtering entries, themes and regions with counts, organisations, articles."""
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from kernel.errors import Conflict, Forbidden, Moved, NotFound, ValidationFailed
from services.catalog import articles, entries, organisations, taxonomy
from contracts.catalog.api import (ArticleCreateSchema, ArticleQuerySchema, EntryCreateSchema,
                                      EntryQuerySchema, EntryUpdateSchema, OrganisationCreateSchema,
                                      OrganisationQuerySchema)
from kernel.schemas import load_input
from services.catalog.models import entries as entries_table
from tests.catalog.conftest import BERLIN, CITIZEN, HALLE, STAFF, entry_data, outbox_events


def create(make_uow, raw, actor=STAFF):
    with make_uow() as uow:
        return entries.create_entry(uow, load_input(EntryCreateSchema, raw), actor)


def listing(make_uow, actor=None, **query):
    with make_uow() as uow:
        return entries.list_entries(uow, load_input(EntryQuerySchema, query), actor)


def new_organisation(make_uow, **raw):
    with make_uow() as uow:
        return organisations.create_organisation(
            uow, load_input(OrganisationCreateSchema, {"name": "Landfrauen e.V.", "kind": "association", **raw}),
            STAFF)


def ids(page):
    return [item["id"] for item in page["items"]]


def test_filters_and_sorting(make_uow, theme_slugs):
    org = new_organisation(make_uow)
    a = create(make_uow, entry_data(theme_slugs, title="Alpha Werkstatt", kind="initiative",
                                    tags=["Reparatur", "Umwelt"], organisations=[org["id"]]))
    b = create(make_uow, entry_data(theme_slugs, title="Beta Treff", themes=theme_slugs[1:2], location=HALLE))
    c = create(make_uow, entry_data(theme_slugs, title="Cafe 100%_sicher", tags=["100%_sicher"]))
    create(make_uow, entry_data(theme_slugs, title="Delta eingereicht"), actor=None)  # not public

    assert listing(make_uow)["total"] == 3
    assert ids(listing(make_uow, kind="initiative")) == [a["id"]]
    assert ids(listing(make_uow, theme=theme_slugs[1])) == [b["id"]]
    assert ids(listing(make_uow, region="15002")) == [b["id"]]
    assert ids(listing(make_uow, tag="reparatur")) == [a["id"]]
    assert ids(listing(make_uow, tag="100%_sicher")) == [c["id"]]
    assert ids(listing(make_uow, tag="100")) == []  # whole tags only
    assert ids(listing(make_uow, organisation=org["id"])) == [a["id"]]
    assert ids(listing(make_uow, sort="title")) == [a["id"], b["id"], c["id"]]
    assert ids(listing(make_uow, sort="newest")) == [c["id"], b["id"], a["id"]]
    with make_uow() as uow:  # a's change is the latest: it comes first by updated, not by newest
        entries.update_entry(uow, a["id"], {"summary": "Jetzt mit Lastenrad"}, 1, STAFF)
    assert ids(listing(make_uow, sort="updated")) == [a["id"], c["id"], b["id"]]
    assert ids(listing(make_uow, sort="newest")) == [c["id"], b["id"], a["id"]]
    first, second = listing(make_uow, sort="title", per_page=2), listing(make_uow, sort="title", per_page=2, page=2)
    assert (first["total"], ids(first), ids(second)) == (3, [a["id"], b["id"]], [c["id"]])
    # status is a staff filter; the public always gets published entries
    assert listing(make_uow, status="submitted")["total"] == 3
    assert listing(make_uow, actor=STAFF, status="submitted")["total"] == 1
    assert "contact" in listing(make_uow, actor=STAFF)["items"][0]


def test_themes_and_regions_count_published_entries(make_uow, theme_slugs):
    create(make_uow, entry_data(theme_slugs, themes=theme_slugs[:2]))
    create(make_uow, entry_data(theme_slugs, location=HALLE))
    create(make_uow, entry_data(theme_slugs), actor=None)  # submitted: not counted
    with make_uow() as uow:
        themes = {theme["slug"]: theme for theme in taxonomy.list_themes(uow)}
        regions = {region["ags"]: region for region in taxonomy.list_regions(uow)}
    assert len(themes) == len(theme_slugs) and len(regions) == 14
    assert themes[theme_slugs[0]]["entry_count"] == 2 and themes[theme_slugs[1]]["entry_count"] == 1
    assert sum(theme["entry_count"] for theme in themes.values()) == 3
    assert regions["15003"]["entry_count"] == 1 and regions["15002"]["entry_count"] == 1
    assert regions["15003"]["name"] == "Magdeburg" and regions["15003"]["rural"] is False
    assert {theme["kind"] for theme in themes.values()} == {"field", "pioneering"}


def test_district_boundaries_are_the_fourteen_districts_with_their_counts(make_uow, theme_slugs):
    create(make_uow, entry_data(theme_slugs, location=HALLE))
    with make_uow() as uow:
        collection = taxonomy.region_boundaries(uow)
        regions = {region["ags"]: region for region in taxonomy.list_regions(uow)}
    assert collection["type"] == "FeatureCollection" and "GeoBasis-DE / BKG" in collection["attribution"]
    features = {feature["properties"]["ags"]: feature for feature in collection["features"]}
    assert set(features) == set(regions)
    assert features["15002"]["properties"] == {"ags": "15002", "name": "Halle (Saale)", "entry_count": 1}
    for feature in features.values():
        geometry = feature["geometry"]
        assert geometry["type"] in ("Polygon", "MultiPolygon")
        polygons = geometry["coordinates"] if geometry["type"] == "MultiPolygon" else [geometry["coordinates"]]
        for ring in (ring for polygon in polygons for ring in polygon):
            assert ring[0] == ring[-1] and len(ring) >= 4
            assert all(10.5 < lon < 13.3 and 50.9 < lat < 53.1 for lon, lat in ring)
    # Halle lies in its own boundary (a point-in-polygon test of the first ring)
    lon, lat = HALLE["lon"], HALLE["lat"]
    ring = features["15002"]["geometry"]["coordinates"]
    ring = ring[0][0] if features["15002"]["geometry"]["type"] == "MultiPolygon" else ring[0]
    inside = False
    for (x1, y1), (x2, y2) in zip(ring, ring[1:]):
        if (y1 > lat) != (y2 > lat) and lon < x1 + (lat - y1) * (x2 - x1) / (y2 - y1):
            inside = not inside
    assert inside


def test_organisations(make_uow, catalog_engine):
    org = new_organisation(make_uow, website="https://landfrauen.example", location={"lat": 51.48, "lon": 11.97})
    assert org["slug"] == "landfrauen-e-v" and org["region"] == "15002"
    assert outbox_events(catalog_engine, "organisation.created")[0]["data"]["id"] == org["id"]
    with make_uow() as uow:
        assert organisations.get_organisation(uow, org["slug"])["id"] == org["id"]
        page = organisations.list_organisations(uow, load_input(OrganisationQuerySchema, {"kind": "association"}))
        assert page["total"] == 1
        assert organisations.list_organisations(uow, load_input(OrganisationQuerySchema, {"kind": "company"}))["total"] == 0
        with pytest.raises(NotFound):
            organisations.get_organisation(uow, "nobody")
        with pytest.raises(Forbidden):
            organisations.create_organisation(uow, {"name": "X", "kind": "other"}, CITIZEN)
    with pytest.raises(ValidationFailed):
        new_organisation(make_uow, location=BERLIN)


def test_published_since_lists_what_was_published_from_then_on(make_uow, theme_slugs, catalog_engine):
    older = create(make_uow, entry_data(theme_slugs, title="Früher veröffentlicht"))
    submitted = create(make_uow, entry_data(theme_slugs, title="Später geprüft"), actor=None)
    with catalog_engine.begin() as conn:  # the first one was published a week ago
        conn.execute(sa.update(entries_table).where(entries_table.c.id == older["id"])
                     .values(published_at=datetime.now(timezone.utc) - timedelta(days=7)))
    since = (datetime.now(timezone.utc) - timedelta(days=1)).isoformat()
    assert ids(listing(make_uow, published_since=since)) == []
    with make_uow() as uow:
        entries.review_entry(uow, submitted["id"], {"action": "publish", "version": 1}, STAFF)
    assert ids(listing(make_uow, published_since=since)) == [submitted["id"]]
    assert set(ids(listing(make_uow))) == {older["id"], submitted["id"]}
    with pytest.raises(ValidationFailed):  # a time without a zone is ambiguous
        listing(make_uow, published_since="2026-12-01T10:00:00")
    raw = {"type": "news", "title": "Neu", "body": "…", "themes": theme_slugs[:1]}
    with make_uow() as uow:
        news = articles.create_article(uow, load_input(ArticleCreateSchema, raw), STAFF)
        assert ids(articles.list_articles(uow, load_input(ArticleQuerySchema, {"published_since": since}))) == \
            [news["id"]]
        later = (datetime.now(timezone.utc) + timedelta(hours=1)).isoformat()
        assert articles.list_articles(uow, load_input(ArticleQuerySchema, {"published_since": later}))["total"] == 0


def test_articles_and_news(make_uow, theme_slugs, catalog_engine):
    raw = {"type": "news", "title": "Neues Netzwerktreffen", "body": "Am Montag …", "themes": theme_slugs[:1],
           "regions": ["15003"]}
    with make_uow() as uow:
        news = articles.create_article(uow, load_input(ArticleCreateSchema, raw), STAFF)
    assert news["published_at"] and news["themes"] == theme_slugs[:1]
    assert outbox_events(catalog_engine, "article.published")[0]["data"]["id"] == news["id"]
    with make_uow() as uow:
        articles.create_article(uow, load_input(ArticleCreateSchema, {**raw, "type": "article", "themes": []}), STAFF)
        assert articles.list_articles(uow, load_input(ArticleQuerySchema, {}))["total"] == 2
        assert ids(articles.list_articles(uow, load_input(ArticleQuerySchema, {"type": "news"}))) == [news["id"]]
        assert ids(articles.list_articles(uow, load_input(ArticleQuerySchema, {"theme": theme_slugs[0]}))) == [news["id"]]
        assert articles.get_article(uow, news["slug"])["title"] == "Neues Netzwerktreffen"
        with pytest.raises(Forbidden):
            articles.create_article(uow, load_input(ArticleCreateSchema, raw), None)
        with pytest.raises(ValidationFailed):
            articles.create_article(uow, load_input(ArticleCreateSchema, {**raw, "themes": ["astrologie"]}), STAFF)
        with pytest.raises(ValidationFailed):
            articles.create_article(uow, load_input(ArticleCreateSchema, {**raw, "regions": ["15999"]}), STAFF)


def test_published_page_walks_every_published_entry_once_in_id_order(make_uow, theme_slugs):
    from services.catalog import bulk
    from services.catalog.entries import create_entry, review_entry
    from tests.catalog.conftest import STAFF, entry_data

    created = []
    with make_uow() as uow:
        for number in range(7):
            created.append(create_entry(uow, entry_data(theme_slugs, title=f"Projekt Nummer {number}"), STAFF))
        review_entry(uow, created[3]["id"], {"action": "archive"}, STAFF)
        create_entry(uow, entry_data(theme_slugs, title="Eingereicht"), None)  # submitted: not published
    seen, after = [], None
    while True:
        with make_uow() as uow:
            page = bulk.published_page(uow, {"type": "entry", "after": after, "limit": 2})
        seen += [item["id"] for item in page["items"]]
        assert all("contact" not in item for item in page["items"])
        if page["next"] is None:
            break
        after = page["next"]
    expected = sorted(entry["id"] for index, entry in enumerate(created) if index != 3)
    assert seen == expected


def get(make_uow, reference, actor=None):
    with make_uow() as uow:
        return entries.get_entry(uow, reference, actor)


def rename(make_uow, entry, slug, version):
    with make_uow() as uow:
        return entries.update_entry(uow, entry["id"], load_input(EntryUpdateSchema, {"slug": slug, "version": version}),
                                    version, STAFF)


def test_an_entry_is_read_by_slug_and_an_old_slug_names_the_current_one(make_uow, theme_slugs, catalog_engine):
    entry = create(make_uow, entry_data(theme_slugs, title="Mitfahrbank Gernrode"))
    assert entry["slug"] == "mitfahrbank-gernrode"
    assert get(make_uow, "mitfahrbank-gernrode")["id"] == entry["id"]
    renamed = rename(make_uow, entry, "mitfahrbaenke-gernrode", 1)
    assert renamed["slug"] == "mitfahrbaenke-gernrode" and renamed["version"] == 2
    assert get(make_uow, "mitfahrbaenke-gernrode")["id"] == entry["id"]
    with pytest.raises(Moved) as moved:
        get(make_uow, "mitfahrbank-gernrode")
    assert moved.value.slug == "mitfahrbaenke-gernrode"
    # given back: the first slug is current again, and the second now names it
    rename(make_uow, entry, "mitfahrbank-gernrode", 2)
    assert get(make_uow, "mitfahrbank-gernrode")["version"] == 3
    with pytest.raises(Moved) as moved:
        get(make_uow, "mitfahrbaenke-gernrode")
    assert moved.value.slug == "mitfahrbank-gernrode"
    updates = [event["data"] for event in outbox_events(catalog_engine, "entry.updated")
               if event["data"]["id"] == entry["id"]]
    assert [data["slug"] for data in updates] == ["mitfahrbaenke-gernrode", "mitfahrbank-gernrode"]


def test_a_slug_another_entry_has_is_refused_and_one_it_had_is_taken_over(make_uow, theme_slugs):
    first = create(make_uow, entry_data(theme_slugs, title="Tauschregal Thale"))
    second = create(make_uow, entry_data(theme_slugs, title="Bücherzelle Thale"))
    with pytest.raises(Conflict) as taken:
        rename(make_uow, second, "tauschregal-thale", 1)
    assert taken.value.fields == {"slug": ["is taken by another entry"]}
    rename(make_uow, first, "tauschregal-im-bahnhof-thale", 1)
    rename(make_uow, second, "tauschregal-thale", 1)           # first's old name: current names win
    assert get(make_uow, "tauschregal-thale")["id"] == second["id"]
    with pytest.raises(Moved):
        get(make_uow, "buecherzelle-thale")


def test_an_old_slug_of_an_unpublished_entry_names_nothing_to_the_public(make_uow, theme_slugs):
    draft = create(make_uow, entry_data(theme_slugs, title="Dorfwerkstatt Quarmbeck", publish=False))
    rename(make_uow, draft, "werkstatt-quarmbeck", 1)
    with pytest.raises(NotFound):
        get(make_uow, "dorfwerkstatt-quarmbeck")
    with pytest.raises(Moved):
        get(make_uow, "dorfwerkstatt-quarmbeck", STAFF)


@pytest.mark.parametrize("slug, message", [
    ("Gross-Schreibung", "lowercase"), ("zwei--striche", "lowercase"), ("ab", "Length"),
    ("3f1c2a9e-0001-4a6b-9c1d-000000000001", "UUID"), ("x" * 81, "Length"),
])
def test_a_slug_must_be_a_slug(slug, message):
    with pytest.raises(ValidationFailed) as refused:
        load_input(EntryUpdateSchema, {"slug": slug, "version": 1})
    assert message.lower() in " ".join(refused.value.fields["slug"]).lower()
