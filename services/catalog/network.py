"""The knowledge network: entries and organisations as nodes, their links as edges.

Plain data in, plain data out. The caller chooses what may be seen (published entries
only, filtered by theme or region) before calling; a link whose end is not among the
given nodes is dropped here, so a link to an unpublished entry never leaks its id.
Ids are UUIDs, so entry and organisation ids cannot collide.
"""

_NODE_TYPE_ORDER = {"entry": 0, "organisation": 1}


def _node(record: dict, node_type: str, label: str | None) -> dict:
    return {
        "id": str(record["id"]),
        "type": node_type,
        "label": label or "",
        "kind": record.get("kind"),
        "themes": list(record.get("themes") or []),
        "region": record.get("region"),
        "degree": 0,
    }


def build_network(entries, organisations, links) -> dict:
    """``{"nodes": [...], "edges": [...]}``.

    entries: dicts with ``id, title, kind, themes, region``; organisations: dicts with
    ``id, name, kind`` (``themes``, ``region`` optional); links: dicts with
    ``source_entry_id, target_type ("entry"|"organisation"), target_id, type``.

    Nodes ``{id, type, label, kind, themes, region, degree}``, edges ``{source, target, type}``.
    Edges with an end outside the node set, self-links and duplicates (same source,
    target and type) are dropped; ``degree`` counts the edges kept. Nodes are ordered
    entries first, then by label and id; edges by source, target and type.
    """
    entry_nodes = {str(e["id"]): _node(e, "entry", e.get("title")) for e in entries}
    organisation_nodes = {str(o["id"]): _node(o, "organisation", o.get("name")) for o in organisations}
    targets = {"entry": entry_nodes, "organisation": organisation_nodes}

    edges = set()
    for link in links:
        source = str(link.get("source_entry_id"))
        target = str(link.get("target_id"))
        target_nodes = targets.get(link.get("target_type"))
        if source not in entry_nodes or target_nodes is None or target not in target_nodes:
            continue
        if source == target:
            continue
        edges.add((source, target, link.get("type") or "related"))

    nodes = {**entry_nodes, **organisation_nodes}
    for source, target, _type in edges:
        nodes[source]["degree"] += 1
        nodes[target]["degree"] += 1

    ordered_nodes = sorted(
        nodes.values(),
        key=lambda node: (_NODE_TYPE_ORDER[node["type"]], node["label"].casefold(), node["id"]),
    )
    ordered_edges = [{"source": s, "target": t, "type": kind} for s, t, kind in sorted(edges)]
    return {"nodes": ordered_nodes, "edges": ordered_edges}
