"""Unit tests of services.catalog.network.build_network."""
from services.catalog.network import build_network

E1, E2, E3 = "11111111-0000-0000-0000-000000000001", "11111111-0000-0000-0000-000000000002", \
    "11111111-0000-0000-0000-000000000003"
O1, O2 = "22222222-0000-0000-0000-000000000001", "22222222-0000-0000-0000-000000000002"
UNPUBLISHED = "11111111-0000-0000-0000-0000000000ff"

ENTRIES = [
    {"id": E1, "title": "Wohnprojekt Altmark", "kind": "project", "themes": ["wohnen"], "region": "15090"},
    {"id": E2, "title": "Dorfladen Harz", "kind": "initiative", "themes": ["sozialer-zusammenhalt"],
     "region": "15085"},
    {"id": E3, "title": "alleinstehend", "kind": "idea", "themes": [], "region": None},
]
ORGANISATIONS = [
    {"id": O1, "name": "Genossenschaft Elbe eG", "kind": "cooperative", "region": "15090"},
    {"id": O2, "name": "Landesverband", "kind": "association"},
]


def _link(source, target_type, target, type_="related"):
    return {"source_entry_id": source, "target_type": target_type, "target_id": target, "type": type_}


def test_nodes_and_edges():
    links = [_link(E1, "entry", E2), _link(E1, "organisation", O1, "partner"), _link(E2, "organisation", O1, "funded_by")]
    network = build_network(ENTRIES, ORGANISATIONS, links)
    nodes = {node["id"]: node for node in network["nodes"]}
    assert nodes[E1] == {"id": E1, "type": "entry", "label": "Wohnprojekt Altmark", "kind": "project",
                         "themes": ["wohnen"], "region": "15090", "degree": 2}
    assert nodes[O1] == {"id": O1, "type": "organisation", "label": "Genossenschaft Elbe eG",
                         "kind": "cooperative", "themes": [], "region": "15090", "degree": 2}
    assert nodes[E2]["degree"] == 2
    assert nodes[E3]["degree"] == 0 and nodes[O2]["degree"] == 0  # isolated nodes stay
    assert network["edges"] == [
        {"source": E1, "target": E2, "type": "related"},
        {"source": E1, "target": O1, "type": "partner"},
        {"source": E2, "target": O1, "type": "funded_by"},
    ]


def test_edges_to_unknown_or_unpublished_nodes_are_dropped():
    links = [
        _link(E1, "entry", UNPUBLISHED),          # target not visible
        _link(UNPUBLISHED, "entry", E1),          # source not visible
        _link(E1, "organisation", E2),            # an entry id given as organisation
        _link(E1, "entry", O1),                   # an organisation id given as entry
        _link(E1, "person", E2),                  # unknown target type
        _link(E1, "entry", E1),                   # self link
        _link(E2, "entry", E1),
        _link(E2, "entry", E1),                   # duplicate
    ]
    network = build_network(ENTRIES, ORGANISATIONS, links)
    assert network["edges"] == [{"source": E2, "target": E1, "type": "related"}]
    assert UNPUBLISHED not in {node["id"] for node in network["nodes"]}
    degrees = {node["id"]: node["degree"] for node in network["nodes"]}
    assert degrees == {E1: 1, E2: 1, E3: 0, O1: 0, O2: 0}


def test_links_of_different_types_between_the_same_pair_are_kept():
    links = [_link(E1, "organisation", O1, "partner"), _link(E1, "organisation", O1, "funded_by")]
    network = build_network(ENTRIES, ORGANISATIONS, links)
    assert len(network["edges"]) == 2
    assert {node["id"]: node["degree"] for node in network["nodes"]}[O1] == 2


def test_order_is_entries_then_organisations_by_label_whatever_the_input_order():
    forward = build_network(ENTRIES, ORGANISATIONS, [_link(E1, "entry", E2), _link(E2, "organisation", O2)])
    backward = build_network(list(reversed(ENTRIES)), list(reversed(ORGANISATIONS)),
                             [_link(E2, "organisation", O2), _link(E1, "entry", E2)])
    assert forward == backward
    assert [node["label"] for node in forward["nodes"]] == [
        "alleinstehend", "Dorfladen Harz", "Wohnprojekt Altmark", "Genossenschaft Elbe eG", "Landesverband"]


def test_empty_network():
    assert build_network([], [], [_link(E1, "entry", E2)]) == {"nodes": [], "edges": []}
