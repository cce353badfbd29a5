"""Related entries: those editors linked (from the catalog) first, then similar ones (from the index)."""
from contracts.search.api import related_from_links

# search-hit fields that describe the match, not the entry
_HIT_ONLY = ("score", "highlight", "distance_km", "body", "deleted")


def merge_related(linked: dict, similar: list[dict], limit: int) -> dict:
    """``linked`` is the catalog's ``related_entries`` answer ``{entries, organisations}``;
    ``similar`` the index's documents. Linked entries keep their order and come first;
    up to ``limit`` similar entries follow, none that is already linked, none twice."""
    result = related_from_links(linked)
    items = result["entries"]
    seen = {item["entry"]["id"] for item in items}
    added = 0
    for document in similar:
        if added >= limit:
            break
        if document.get("doc_type", "entry") != "entry" or document["id"] in seen:
            continue
        seen.add(document["id"])
        added += 1
        items.append({"relation": "similar", "link_type": None, "direction": None, "note": None,
                      "score": document.get("score"),
                      "entry": {key: value for key, value in document.items() if key not in _HIT_ONLY}})
    return result
