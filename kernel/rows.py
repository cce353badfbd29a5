"""Small helpers every service's domain needs for its rows: ids, time, pages."""
import uuid
from datetime import datetime, timezone

import sqlalchemy as sa


def new_id() -> str:
    return str(uuid.uuid4())


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def aware(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; everything stored here is UTC."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value


def looks_like_uuid(value) -> bool:
    try:
        uuid.UUID(value)
        return True
    except (ValueError, TypeError, AttributeError):
        return False


def paginate(session, query: sa.Select, page_query: dict, represent_rows) -> dict:
    """One page of ``query`` as ``{total, page, per_page, items}``; ``represent_rows`` turns
    the page's rows into items."""
    page, per_page = page_query.get("page", 1), page_query.get("per_page", 20)
    total = session.execute(sa.select(sa.func.count()).select_from(query.order_by(None).subquery())).scalar_one()
    rows = session.execute(query.limit(per_page).offset((page - 1) * per_page)).all()
    return {"total": total, "page": page, "per_page": per_page, "items": represent_rows(rows)}
