"""A survey's link to a catalog entry or theme, checked by asking the catalog over RPC (the
survey service never reads the catalog's tables)."""
import eventlet
from nameko.exceptions import UnknownService

from kernel.errors import DependencyUnavailable, NotFound, ValidationFailed

CATALOG_TIMEOUT = 5.0


def link_checker(catalog):
    """``check(link)`` for a nameko ``ServiceRpc("catalog")`` client: the stored link, or
    ``ValidationFailed`` when the catalog knows no such published entry or theme."""
    def check(link):
        if link is None:
            return None
        if link["type"] == "entry":
            try:
                entry = _ask(catalog, "get_entry", link["ref"])
            except NotFound:
                raise ValidationFailed("the linked entry does not exist", {"link.ref": [
                    "no published entry has this id or slug"]}) from None
            return {"type": "entry", "ref": entry["id"], "slug": entry["slug"], "title": entry["title"]}
        themes = {theme["slug"]: theme for theme in _ask(catalog, "list_themes")}
        if link["ref"] not in themes:
            raise ValidationFailed("the linked theme does not exist", {"link.ref": [
                f"not a theme; known: {', '.join(sorted(themes))}"]})
        return {"type": "theme", "ref": link["ref"], "title": themes[link["ref"]]["label"]}
    return check


def _ask(catalog, method: str, *args):
    try:
        with eventlet.Timeout(CATALOG_TIMEOUT):
            return getattr(catalog, method)(*args)
    except (eventlet.Timeout, UnknownService):
        raise DependencyUnavailable("the catalog cannot be asked about the link right now; try again") from None
