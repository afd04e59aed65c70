//! The network for other tools: GEXF 1.3 (Gephi, with time intervals for
//! its timeline), GraphML (yEd, Cytoscape, networkx), two CSVs for i2
//! Analyst's Notebook (`entities.csv`, `links.csv`) and JSON.
//!
//! XML is written by hand: typed attributes with unique key ids (one
//! GraphML key per domain and name), exact control of GEXF spells, no
//! dependency. No output carries image content: items are list ids, files
//! are SHA-256.

use std::fmt::Write as _;
use std::io::Write;
use std::path::Path;

use petgraph::visit::EdgeRef;
use serde::Serialize;

use crate::graph::{Edge, Network};
use crate::{iso, Error};

/// The network formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// GEXF 1.3, dynamic.
    Gexf,
    /// GraphML.
    Graphml,
    /// `entities.csv` and `links.csv` in a folder.
    Csv,
    /// One JSON document.
    Json,
}

impl Format {
    /// Parses gexf, graphml, csv or json.
    pub fn parse(s: &str) -> Option<Format> {
        match s {
            "gexf" => Some(Format::Gexf),
            "graphml" => Some(Format::Graphml),
            "csv" => Some(Format::Csv),
            "json" => Some(Format::Json),
            _ => None,
        }
    }
}

/// Writes the network to `path` (a folder for CSV); returns the files written.
pub fn write(net: &Network, format: Format, path: &Path) -> Result<Vec<std::path::PathBuf>, Error> {
    let put = |p: &Path, s: &str| -> Result<(), Error> {
        if let Some(parent) = p.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
        }
        std::fs::write(p, s).map_err(|e| Error::io(p, e))
    };
    match format {
        Format::Gexf => put(path, &gexf(net)).map(|_| vec![path.to_path_buf()]),
        Format::Graphml => put(path, &graphml(net)).map(|_| vec![path.to_path_buf()]),
        Format::Json => put(path, &json(net)).map(|_| vec![path.to_path_buf()]),
        Format::Csv => {
            std::fs::create_dir_all(path).map_err(|e| Error::io(path, e))?;
            let (entities, links) = i2_csv(net)?;
            let (pe, pl) = (path.join("entities.csv"), path.join("links.csv"));
            put(&pe, &entities)?;
            put(&pl, &links)?;
            Ok(vec![pe, pl])
        }
    }
}

fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // XML 1.0 forbids most control characters even escaped.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// Node attributes: (name, type, value) per node, shared by GEXF and GraphML.
fn node_attrs(net: &Network, i: petgraph::graph::NodeIndex) -> Vec<(&'static str, &'static str, String)> {
    let node = &net.graph[i];
    let r = &net.resolved;
    let idx: usize = node.id[1..].parse().unwrap_or(0);
    let mut v = vec![("type", "string", node.kind.to_string())];
    match node.kind {
        "account" => {
            let a = &r.accounts[idx];
            let s = &net.accounts[idx];
            v.push(("key", "string", a.key.clone()));
            v.push(("e164", "string", a.phone_e164.clone().unwrap_or_default()));
            v.push(("country", "string", a.country()));
            v.push(("resolved", "boolean", a.resolved.to_string()));
            v.push(("items_shared", "int", s.known_items_shared.len().to_string()));
            v.push(("shares", "int", s.shares.to_string()));
            v.push(("groups", "int", s.groups.len().to_string()));
            v.push(("degree", "int", s.degree.to_string()));
            v.push(("betweenness", "double", format!("{}", s.betweenness)));
            v.push(("bridge", "boolean", s.bridge.to_string()));
            v.push(("first_share", "string", s.first_share.clone().unwrap_or_default()));
            v.push(("last_share", "string", s.last_share.clone().unwrap_or_default()));
        }
        "group" => {
            let g = &net.groups[idx];
            v.push(("platform", "string", g.platform.clone()));
            v.push(("members", "int", g.members.len().to_string()));
            v.push(("items_shared", "int", g.known_items.len().to_string()));
            v.push(("messages", "int", g.messages.to_string()));
        }
        "item" => {
            let it = net.items.iter().find(|it| it.item == node.label);
            v.push(("shares", "int", it.map(|i| i.shares).unwrap_or(0).to_string()));
            v.push((
                "first_sharer",
                "string",
                it.and_then(|i| i.first_sharer.clone()).unwrap_or_default(),
            ));
            v.push((
                "first_share",
                "string",
                it.and_then(|i| i.first_share.clone()).unwrap_or_default(),
            ));
        }
        _ => {
            v.push(("sha256", "string", r.pages[idx].sha256.clone()));
        }
    }
    v
}

fn edge_attrs(e: &Edge) -> Vec<(&'static str, &'static str, String)> {
    vec![
        ("type", "string", e.kind.to_string()),
        ("start", "string", e.start.map(iso).unwrap_or_default()),
        ("end", "string", e.end.map(iso).unwrap_or_default()),
        ("group", "string", e.group.clone().unwrap_or_default()),
        ("item", "string", e.item.clone().unwrap_or_default()),
        ("source", "string", e.source.clone()),
    ]
}

/// Every node attribute name with its type, in first-seen order.
/// Attribute names with their GraphML types.
type Schema = Vec<(&'static str, &'static str)>;

fn attr_schema(net: &Network) -> (Schema, Schema) {
    let mut nodes: Vec<(&'static str, &'static str)> = Vec::new();
    for i in net.graph.node_indices() {
        for (k, t, _) in node_attrs(net, i) {
            if !nodes.iter().any(|(n, _)| *n == k) {
                nodes.push((k, t));
            }
        }
    }
    let edges = edge_attrs(&Edge {
        kind: "",
        start: None,
        end: None,
        group: None,
        item: None,
        source: String::new(),
    })
    .into_iter()
    .map(|(k, t, _)| (k, t))
    .collect();
    (nodes, edges)
}

/// GEXF 1.3, `mode="dynamic"`: member_of edges carry their interval, shares their instant.
pub fn gexf(net: &Network) -> String {
    let (nschema, eschema) = attr_schema(net);
    let mut s = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<gexf xmlns=\"http://gexf.net/1.3\" version=\"1.3\">\n  <meta>\n    <creator>tantalum</creator>\n    <description>sharing network (synthetic or case data); items are hash-list ids, never content</description>\n  </meta>\n  <graph mode=\"dynamic\" defaultedgetype=\"directed\" timeformat=\"date\">\n",
    );
    s.push_str("    <attributes class=\"node\">\n");
    for (i, (k, t)) in nschema.iter().enumerate() {
        let t = if *t == "int" { "integer" } else { t };
        let _ = writeln!(s, "      <attribute id=\"n{i}\" title=\"{k}\" type=\"{t}\"/>");
    }
    s.push_str("    </attributes>\n    <attributes class=\"edge\">\n");
    for (i, (k, t)) in eschema.iter().enumerate() {
        let _ = writeln!(s, "      <attribute id=\"e{i}\" title=\"{k}\" type=\"{t}\"/>");
    }
    s.push_str("    </attributes>\n    <nodes>\n");
    for i in net.graph.node_indices() {
        let node = &net.graph[i];
        let _ = writeln!(
            s,
            "      <node id=\"{}\" label=\"{}\">",
            esc(&node.id),
            esc(&node.label)
        );
        s.push_str("        <attvalues>\n");
        for (k, _, v) in node_attrs(net, i) {
            let idx = nschema.iter().position(|(n, _)| *n == k).unwrap_or(0);
            let _ = writeln!(s, "          <attvalue for=\"n{idx}\" value=\"{}\"/>", esc(&v));
        }
        s.push_str("        </attvalues>\n      </node>\n");
    }
    s.push_str("    </nodes>\n    <edges>\n");
    for (n, e) in net.graph.edge_references().enumerate() {
        let w = e.weight();
        let mut time = String::new();
        let fmt = |t: i64| iso(t).trim_end_matches('Z').to_string();
        if let Some(t) = w.start {
            let _ = write!(time, " start=\"{}\"", fmt(t));
        }
        match (w.kind, w.end, w.start) {
            (_, Some(t), _) => {
                let _ = write!(time, " end=\"{}\"", fmt(t));
            }
            ("shared", None, Some(t)) => {
                let _ = write!(time, " end=\"{}\"", fmt(t));
            }
            _ => {}
        }
        let _ = writeln!(
            s,
            "      <edge id=\"e{n}\" source=\"{}\" target=\"{}\" label=\"{}\"{time}>",
            esc(&net.graph[e.source()].id),
            esc(&net.graph[e.target()].id),
            w.kind
        );
        s.push_str("        <attvalues>\n");
        for (i, (_, _, v)) in edge_attrs(w).into_iter().enumerate() {
            let _ = writeln!(s, "          <attvalue for=\"e{i}\" value=\"{}\"/>", esc(&v));
        }
        s.push_str("        </attvalues>\n      </edge>\n");
    }
    s.push_str("    </edges>\n  </graph>\n</gexf>\n");
    s
}

/// GraphML with typed keys; node keys `n_*`, edge keys `e_*` (unique ids per domain).
pub fn graphml(net: &Network) -> String {
    let (nschema, eschema) = attr_schema(net);
    let mut s = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<graphml xmlns=\"http://graphml.graphdrawing.org/xmlns\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xsi:schemaLocation=\"http://graphml.graphdrawing.org/xmlns http://graphml.graphdrawing.org/xmlns/1.0/graphml.xsd\">\n",
    );
    let _ = writeln!(
        s,
        "  <key id=\"n_label\" for=\"node\" attr.name=\"label\" attr.type=\"string\"/>"
    );
    for (k, t) in &nschema {
        let _ = writeln!(
            s,
            "  <key id=\"n_{k}\" for=\"node\" attr.name=\"{k}\" attr.type=\"{t}\"/>"
        );
    }
    for (k, t) in &eschema {
        let _ = writeln!(
            s,
            "  <key id=\"e_{k}\" for=\"edge\" attr.name=\"{k}\" attr.type=\"{t}\"/>"
        );
    }
    s.push_str("  <graph id=\"network\" edgedefault=\"directed\">\n");
    for i in net.graph.node_indices() {
        let node = &net.graph[i];
        let _ = writeln!(s, "    <node id=\"{}\">", esc(&node.id));
        let _ = writeln!(s, "      <data key=\"n_label\">{}</data>", esc(&node.label));
        for (k, _, v) in node_attrs(net, i) {
            let _ = writeln!(s, "      <data key=\"n_{k}\">{}</data>", esc(&v));
        }
        s.push_str("    </node>\n");
    }
    for (n, e) in net.graph.edge_references().enumerate() {
        let _ = writeln!(
            s,
            "    <edge id=\"e{n}\" source=\"{}\" target=\"{}\">",
            esc(&net.graph[e.source()].id),
            esc(&net.graph[e.target()].id)
        );
        for (k, _, v) in edge_attrs(e.weight()) {
            if !v.is_empty() {
                let _ = writeln!(s, "      <data key=\"e_{k}\">{}</data>", esc(&v));
            }
        }
        s.push_str("    </edge>\n");
    }
    s.push_str("  </graph>\n</graphml>\n");
    s
}

/// Cells that a spreadsheet would read as a formula are prefixed with `'`.
fn cell(s: &str) -> String {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_string()
    }
}

fn csv_text(rows: Vec<Vec<String>>) -> Result<String, Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    for r in rows {
        w.write_record(r.iter().map(|c| cell(c)))
            .map_err(|e| Error::Invalid(format!("csv: {e}")))?;
    }
    let bytes = w.into_inner().map_err(|e| Error::Invalid(format!("csv: {e}")))?;
    // A BOM so Excel (and ANB's import through it) reads UTF-8.
    Ok(format!("\u{FEFF}{}", String::from_utf8_lossy(&bytes)))
}

/// `entities.csv` (one row per node) and `links.csv` (one row per edge,
/// end 1 / link / end 2, dates and times in separate columns), for i2 ANB.
pub fn i2_csv(net: &Network) -> Result<(String, String), Error> {
    let country = |i: petgraph::graph::NodeIndex| -> String {
        let n = &net.graph[i];
        if n.kind == "account" {
            let idx: usize = n.id[1..].parse().unwrap_or(0);
            net.resolved.accounts[idx].country()
        } else {
            String::new()
        }
    };
    let mut entities = vec![vec![
        "entity_type".to_string(),
        "entity_id".into(),
        "label".into(),
        "country".into(),
        "phone_e164".into(),
        "attributes".into(),
    ]];
    for i in net.graph.node_indices() {
        let n = &net.graph[i];
        let attrs = node_attrs(net, i);
        let e164 = attrs
            .iter()
            .find(|(k, _, _)| *k == "e164")
            .map(|(_, _, v)| v.clone())
            .unwrap_or_default();
        let rest: Vec<String> = attrs
            .iter()
            .filter(|(k, _, _)| !matches!(*k, "type" | "e164" | "country"))
            .map(|(k, _, v)| format!("{k}={v}"))
            .collect();
        entities.push(vec![
            n.kind.into(),
            n.id.clone(),
            n.label.clone(),
            country(i),
            e164,
            rest.join("; "),
        ]);
    }
    let mut links = vec![[
        "end1_type",
        "end1_id",
        "end1_label",
        "end1_country",
        "link_type",
        "link_date",
        "link_time",
        "link_end_date",
        "link_group",
        "link_item",
        "link_source",
        "end2_type",
        "end2_id",
        "end2_label",
        "end2_country",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect::<Vec<_>>()];
    let split = |t: Option<i64>| -> (String, String) {
        match t.map(iso) {
            Some(s) => {
                let (d, t) = s.split_once('T').unwrap_or((&s, ""));
                (d.to_string(), t.trim_end_matches('Z').to_string())
            }
            None => (String::new(), String::new()),
        }
    };
    for e in net.graph.edge_references() {
        let (a, b) = (&net.graph[e.source()], &net.graph[e.target()]);
        let w = e.weight();
        let (date, time) = split(w.start);
        links.push(vec![
            a.kind.into(),
            a.id.clone(),
            a.label.clone(),
            country(e.source()),
            w.kind.into(),
            date,
            time,
            w.end.map(iso).unwrap_or_default(),
            w.group.clone().unwrap_or_default(),
            w.item.clone().unwrap_or_default(),
            w.source.clone(),
            b.kind.into(),
            b.id.clone(),
            b.label.clone(),
            country(e.target()),
        ]);
    }
    Ok((csv_text(entities)?, csv_text(links)?))
}

#[derive(Serialize)]
struct JsonOut<'a> {
    nodes: Vec<&'a crate::graph::Node>,
    edges: Vec<JsonEdge<'a>>,
    accounts: &'a [crate::AccountStats],
    groups: &'a [crate::GroupStats],
    items: &'a [crate::ItemStats],
    invite_links: &'a [crate::resolve::InviteLink],
    pages: &'a [crate::Page],
}

#[derive(Serialize)]
struct JsonEdge<'a> {
    source: &'a str,
    target: &'a str,
    #[serde(flatten)]
    edge: &'a Edge,
}

/// The whole network and its measures as one JSON document.
pub fn json(net: &Network) -> String {
    let out = JsonOut {
        nodes: net.graph.node_weights().collect(),
        edges: net
            .graph
            .edge_references()
            .map(|e| JsonEdge {
                source: &net.graph[e.source()].id,
                target: &net.graph[e.target()].id,
                edge: e.weight(),
            })
            .collect(),
        accounts: &net.accounts,
        groups: &net.groups,
        items: &net.items,
        invite_links: &net.resolved.invite_links,
        pages: &net.resolved.pages,
    };
    let mut s = serde_json::to_string_pretty(&out).unwrap_or_else(|_| "{}".into());
    s.push('\n');
    s
}

/// Writes to any writer (standard output).
pub fn write_to(net: &Network, format: Format, out: &mut dyn Write) -> Result<(), Error> {
    let text = match format {
        Format::Gexf => gexf(net),
        Format::Graphml => graphml(net),
        Format::Json => json(net),
        Format::Csv => i2_csv(net)?.1,
    };
    out.write_all(text.as_bytes()).map_err(|e| Error::io(Path::new("-"), e))
}
