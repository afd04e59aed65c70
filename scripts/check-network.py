#!/usr/bin/env python3
"""Checks that tantalum's network outputs load in networkx with the expected
nodes, edges and attributes.

usage: check-network.py DEMO_DIR
   or: check-network.py --truth truth/network.json --gexf F --graphml F --json F

DEMO_DIR is what `tantalum demo --dir DEMO_DIR` wrote: the operation's truth
is in DEMO_DIR/operation/truth/network.json, the outputs in DEMO_DIR/network/.
Exits 1 with a message on the first mismatch.
"""

import argparse
import json
import math
import os
import sys

import networkx as nx


def fail(msg):
    print(f"check-network: {msg}", file=sys.stderr)
    sys.exit(1)


def expect(cond, msg):
    if not cond:
        fail(msg)


def check_graph(name, g, truth, doc):
    n_accounts = len(truth["accounts"])
    n_groups = len(truth["groups"])
    n_items = len(truth["items"])
    pages = {n["id"] for n in doc["nodes"] if n["kind"] == "page"}
    want_nodes = n_accounts + n_groups + n_items + len(pages)
    expect(g.number_of_nodes() == want_nodes, f"{name}: {g.number_of_nodes()} nodes, want {want_nodes}")
    expect(g.number_of_edges() == len(doc["edges"]), f"{name}: {g.number_of_edges()} edges, want {len(doc['edges'])}")
    types = {}
    for _, d in g.nodes(data=True):
        types[d.get("type")] = types.get(d.get("type"), 0) + 1
    expect(types.get("account") == n_accounts, f"{name}: account nodes {types}")
    expect(types.get("group") == n_groups, f"{name}: group nodes {types}")
    expect(types.get("item") == n_items, f"{name}: item nodes {types}")
    edges = {}
    for _, _, d in g.edges(data=True):
        edges[d.get("type")] = edges.get(d.get("type"), 0) + 1
    want_members = sum(len(gr["members"]) for gr in truth["groups"])
    want_shares = sum(it["shares"] for it in truth["items"])
    expect(edges.get("member_of") == want_members, f"{name}: member_of edges {edges.get('member_of')}, want {want_members}")
    expect(edges.get("shared") == want_shares, f"{name}: shared edges {edges.get('shared')}, want {want_shares}")
    expect(edges.get("invited_via", 0) == n_groups, f"{name}: invited_via edges {edges.get('invited_via')}, want {n_groups}")
    # Attributes, typed.
    bridges = set(truth["bridges"])
    keys = set()
    for node, d in g.nodes(data=True):
        if d.get("type") != "account":
            continue
        for attr in ("key", "country", "betweenness", "degree", "bridge", "items_shared", "label"):
            expect(attr in d, f"{name}: account {node} lacks {attr}")
        expect(isinstance(d["betweenness"], float), f"{name}: betweenness is {type(d['betweenness'])}")
        expect(isinstance(d["bridge"], bool), f"{name}: bridge is {type(d['bridge'])}")
        expect(isinstance(d["degree"], int), f"{name}: degree is {type(d['degree'])}")
        expect(d["bridge"] == (d["key"] in bridges), f"{name}: {d['key']} bridge={d['bridge']}")
        keys.add(d["key"])
    expect(keys == {a["key"] for a in truth["accounts"]}, f"{name}: account keys differ from the truth")
    # Betweenness as networkx computes it on the membership graph.
    membership = nx.Graph()
    membership.add_nodes_from(n for n, d in g.nodes(data=True) if d.get("type") in ("account", "group"))
    membership.add_edges_from((u, v) for u, v, d in g.edges(data=True) if d.get("type") == "member_of")
    bc = nx.betweenness_centrality(membership)
    for node, d in g.nodes(data=True):
        if d.get("type") == "account":
            expect(math.isclose(bc[node], d["betweenness"], rel_tol=1e-9, abs_tol=1e-12),
                   f"{name}: {node} betweenness {d['betweenness']} vs networkx {bc[node]}")
    # First sharers on item nodes.
    first = {it["id"]: it["first_sharer"] for it in truth["items"]}
    for node, d in g.nodes(data=True):
        if d.get("type") == "item":
            expect(first.get(d.get("label")) == d.get("first_sharer"), f"{name}: item {d.get('label')} first sharer {d.get('first_sharer')}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("demo", nargs="?")
    ap.add_argument("--truth")
    ap.add_argument("--gexf")
    ap.add_argument("--graphml")
    ap.add_argument("--json")
    a = ap.parse_args()
    if a.demo:
        a.truth = a.truth or os.path.join(a.demo, "operation/truth/network.json")
        a.gexf = a.gexf or os.path.join(a.demo, "network/network.gexf")
        a.graphml = a.graphml or os.path.join(a.demo, "network/network.graphml")
        a.json = a.json or os.path.join(a.demo, "network/network.json")
    if not (a.truth and a.gexf and a.graphml and a.json):
        ap.error("give DEMO_DIR or all of --truth --gexf --graphml --json")
    truth = json.load(open(a.truth))
    doc = json.load(open(a.json))
    gexf = nx.read_gexf(a.gexf)
    expect(gexf.graph.get("mode") == "dynamic", "gexf: not dynamic")
    for _, _, d in gexf.edges(data=True):
        if d.get("type") in ("member_of", "shared"):
            expect("start" in d, f"gexf: {d.get('type')} edge without start: {d}")
    check_graph("gexf", gexf, truth, doc)
    check_graph("graphml", nx.read_graphml(a.graphml), truth, doc)
    # Referral folders, when the demo wrote them.
    if a.demo:
        ref = os.path.join(a.demo, "referrals")
        got = {}
        for c in sorted(os.listdir(ref)):
            r = json.load(open(os.path.join(ref, c, "referral.json")))
            got[r["country"]] = sorted(x["key"] for x in r["accounts"])
            html = open(os.path.join(ref, c, "referral.html")).read()
            expect("<img" not in html, f"referrals/{c}: an image tag")
        expect(got == truth["referrals"], f"referrals {got} != truth {truth['referrals']}")
    print(f"check-network: gexf and graphml load in networkx {nx.__version__}; nodes, edges, attributes, "
          f"betweenness and referrals as expected")


if __name__ == "__main__":
    main()
