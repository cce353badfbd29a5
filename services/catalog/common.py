"""Small helpers the catalog's domain modules share: ids, time, slugs, pages."""
import re
import unicodedata

import sqlalchemy as sa

from contracts.catalog import events  # noqa: F401 (registers the event contracts the domain emits)

# ids, time and pages are the kernel's (re-exported for the domain modules)
from kernel.rows import aware, looks_like_uuid, new_id, paginate, utcnow  # noqa: E402,F401


def by_id_or_slug(table: sa.Table, reference) -> sa.ColumnElement | None:
    """The WHERE clause that finds a row of ``table`` by id (a UUID) or slug; None when
    ``reference`` can be neither (so callers answer "not found" without asking the database)."""
    if not isinstance(reference, str) or not reference or len(reference) > 220:
        return None
    column = table.c.id if looks_like_uuid(reference) else table.c.slug
    return column == reference


# ------------------------------------------------------------------ slugs
_GERMAN = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "Ä": "ae", "Ö": "oe", "Ü": "ue"})


def slugify(text: str, max_length: int = 80) -> str:
    text = unicodedata.normalize("NFKD", text.translate(_GERMAN)).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug[:max_length].strip("-") or "eintrag"


def unique_slug(session, table: sa.Table, text: str) -> str:
    """``slugify(text)``, with ``-2``, ``-3`` … appended when it is taken."""
    base = slugify(text)
    taken = set(session.execute(
        sa.select(table.c.slug).where(sa.or_(table.c.slug == base, table.c.slug.like(base + "-%")))
    ).scalars())
    if base not in taken:
        return base
    number = 2
    while f"{base}-{number}" in taken:
        number += 1
    return f"{base}-{number}"


def json_list_contains(column, value: str):
    """Portable "JSON array contains this string" (PostgreSQL and SQLite).

    Both store JSON as ``json.dumps`` text (ASCII-escaped), so the quoted value is a
    substring of the array text; LIKE wildcards in the value are escaped.
    """
    import json

    needle = json.dumps(value).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return sa.cast(column, sa.Text).like(f"%{needle}%", escape="\\")
