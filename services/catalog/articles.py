"""Knowledge articles and news on the centre's work (staff-written, published at once)."""
import sqlalchemy as sa

from kernel.roles import require_staff
from kernel.errors import NotFound
from services.catalog import taxonomy
from services.catalog.common import (aware, by_id_or_slug, json_list_contains, new_id, paginate, unique_slug, utcnow)
from services.catalog.models import articles
from contracts.catalog.api import ArticleSchema

SCHEMA = ArticleSchema()


def list_articles(uow, query: dict) -> dict:
    """Published articles and news, newest first; filters ``type`` and ``theme``."""
    select = (sa.select(articles).where(articles.c.published_at.is_not(None))
              .order_by(articles.c.published_at.desc(), articles.c.id))
    if query.get("type"):
        select = select.where(articles.c.type == query["type"])
    if query.get("theme"):
        select = select.where(json_list_contains(articles.c.themes, query["theme"]))
    if query.get("published_since"):
        select = select.where(articles.c.published_at >= query["published_since"])
    return paginate(uow.session, select, query, lambda rows: [represent(row) for row in rows])


def get_article(uow, article_id) -> dict:
    where = by_id_or_slug(articles, article_id)
    if where is None:
        raise NotFound("article not found")
    row = uow.session.execute(sa.select(articles).where(where, articles.c.published_at.is_not(None))).first()
    if row is None:
        raise NotFound("article not found")
    return represent(row)


def create_article(uow, data: dict, actor) -> dict:
    """Staff: an article or news item, published at once (``article.published``)."""
    require_staff(actor)
    session = uow.session
    now = utcnow()
    values = {
        "id": new_id(), "slug": unique_slug(session, articles, data.get("slug") or data["title"]), "type": data["type"],
        "title": data["title"], "summary": data.get("summary"), "body": data["body"],
        "themes": taxonomy.check_themes(session, data.get("themes") or []),
        "regions": taxonomy.check_regions(session, data.get("regions") or []),
        "author": data.get("author"), "published_at": data.get("published_at") or now, "demo": bool(data.get("demo", False)),
        "created_at": now, "updated_at": now,
    }
    session.execute(sa.insert(articles).values(**values))
    result = represent(session.execute(sa.select(articles).where(articles.c.id == values["id"])).first())
    uow.emit("article.published", result)
    uow.commit()
    return result


def represent(row) -> dict:
    record = row._asdict()
    record.update(created_at=aware(row.created_at), updated_at=aware(row.updated_at),
                  published_at=aware(row.published_at))
    return SCHEMA.dump(record)
