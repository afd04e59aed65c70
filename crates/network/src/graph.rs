//! The network as a graph, and the measures an investigator asks for.
//!
//! Nodes: accounts, groups, known items (by the list's id, never content)
//! and saved pages. Edges: `member_of` (account → group, with the interval
//! the notices give), `shared` (account → item, in a group, at a time),
//! `invited_via` (page → group whose invite link it advertises),
//! `recruited_by` (account → the account whose link it joined by, Telegram)
//! and `added_by` (account → the admin who added it).
//!
//! Betweenness is computed with Brandes' algorithm on the undirected
//! account–group membership graph, normalised as networkx does
//! (`2 / ((n-1)(n-2))`): an account that sits in several groups carries the
//! shortest paths between them, which is what "broker" means here.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use petgraph::graph::{DiGraph, NodeIndex};
use serde::Serialize;

use crate::resolve::Resolved;

/// A node.
#[derive(Debug, Clone, Serialize)]
pub struct Node {
    /// Stable id in outputs (`a3`, `g1`, `i0`, `p0`).
    pub id: String,
    /// account, group, item or page.
    pub kind: &'static str,
    /// Human label.
    pub label: String,
}

/// An edge.
#[derive(Debug, Clone, Serialize)]
pub struct Edge {
    /// member_of, shared, invited_via, recruited_by or added_by.
    pub kind: &'static str,
    /// UTC seconds: joined, shared, added.
    pub start: Option<i64>,
    /// UTC seconds: left (member_of).
    pub end: Option<i64>,
    /// The group it happened in (name).
    pub group: Option<String>,
    /// The item shared.
    pub item: Option<String>,
    /// Where: `path:line` of the message, page line, or how (member_of).
    pub source: String,
}

/// Per account.
#[derive(Debug, Clone, Serialize)]
pub struct AccountStats {
    /// Account key.
    pub key: String,
    /// Country for referrals.
    pub country: String,
    /// Display names.
    pub display_names: Vec<String>,
    /// Distinct known items shared.
    pub known_items_shared: Vec<String>,
    /// Share events.
    pub shares: usize,
    /// First share, RFC 3339.
    pub first_share: Option<String>,
    /// Last share.
    pub last_share: Option<String>,
    /// Groups (names) it is a member of.
    pub groups: Vec<String>,
    /// Edges touching it in the graph.
    pub degree: usize,
    /// Normalised betweenness on the membership graph.
    pub betweenness: f64,
    /// In two or more groups.
    pub bridge: bool,
    /// Flags from resolution.
    pub flags: Vec<String>,
}

/// Per known item.
#[derive(Debug, Clone, Serialize)]
pub struct ItemStats {
    /// The list's id.
    pub item: String,
    /// First sharer's account key.
    pub first_sharer: Option<String>,
    /// First share, RFC 3339.
    pub first_share: Option<String>,
    /// Share events.
    pub shares: usize,
    /// Accounts that shared it.
    pub sharers: Vec<String>,
    /// `(group, first time there, who)` in time order: how it spread.
    pub path: Vec<(String, Option<String>, String)>,
}

/// Per group.
#[derive(Debug, Clone, Serialize)]
pub struct GroupStats {
    /// Name.
    pub name: String,
    /// Platform.
    pub platform: String,
    /// Member account keys.
    pub members: Vec<String>,
    /// Distinct known items shared in it.
    pub known_items: Vec<String>,
    /// Real messages.
    pub messages: usize,
    /// Exports merged into it.
    pub exports: usize,
    /// `(url, where posted)` of its invite links.
    pub invite_links: Vec<(String, Vec<String>)>,
}

/// The graph with its measures.
pub struct Network {
    /// The picture it was built from.
    pub resolved: Resolved,
    /// The graph.
    pub graph: DiGraph<Node, Edge>,
    /// Per account, in account order.
    pub accounts: Vec<AccountStats>,
    /// Per item, by first share.
    pub items: Vec<ItemStats>,
    /// Per group, in group order.
    pub groups: Vec<GroupStats>,
}

impl Network {
    /// Builds the graph and its measures.
    pub fn build(resolved: Resolved) -> Network {
        let r = &resolved;
        let mut graph: DiGraph<Node, Edge> = DiGraph::new();
        let acc: Vec<NodeIndex> = r
            .accounts
            .iter()
            .enumerate()
            .map(|(i, a)| {
                graph.add_node(Node {
                    id: format!("a{i}"),
                    kind: "account",
                    label: a.label(),
                })
            })
            .collect();
        let grp: Vec<NodeIndex> = r
            .groups
            .iter()
            .enumerate()
            .map(|(i, g)| {
                graph.add_node(Node {
                    id: format!("g{i}"),
                    kind: "group",
                    label: g.name.clone(),
                })
            })
            .collect();
        let item_names: BTreeSet<&str> = r.shares.iter().map(|s| s.item.as_str()).collect();
        let mut items: BTreeMap<&str, NodeIndex> = BTreeMap::new();
        for (i, name) in item_names.iter().enumerate() {
            items.insert(
                name,
                graph.add_node(Node {
                    id: format!("i{i}"),
                    kind: "item",
                    label: name.to_string(),
                }),
            );
        }
        let pages: Vec<NodeIndex> = r
            .pages
            .iter()
            .enumerate()
            .map(|(i, p)| {
                graph.add_node(Node {
                    id: format!("p{i}"),
                    kind: "page",
                    label: p.path.rsplit('/').next().unwrap_or(&p.path).to_string(),
                })
            })
            .collect();
        for (g, group) in r.groups.iter().enumerate() {
            for m in &group.members {
                graph.add_edge(
                    acc[m.account],
                    grp[g],
                    Edge {
                        kind: "member_of",
                        start: m.start,
                        end: m.end,
                        group: Some(group.name.clone()),
                        item: None,
                        source: m.how.clone(),
                    },
                );
                if let Some(v) = m.via {
                    if v != m.account {
                        graph.add_edge(
                            acc[m.account],
                            acc[v],
                            Edge {
                                kind: if m.how == "link" { "recruited_by" } else { "added_by" },
                                start: m.start,
                                end: None,
                                group: Some(group.name.clone()),
                                item: None,
                                source: m.how.clone(),
                            },
                        );
                    }
                }
            }
        }
        for s in &r.shares {
            graph.add_edge(
                acc[s.account],
                items[s.item.as_str()],
                Edge {
                    kind: "shared",
                    start: s.utc,
                    end: None,
                    group: Some(r.groups[s.group].name.clone()),
                    item: Some(s.item.clone()),
                    source: r.messages[s.message].citation(),
                },
            );
        }
        for (p, page) in r.pages.iter().enumerate() {
            let mut tied = BTreeSet::new();
            for l in &page.links {
                if let Some(g) = l.group {
                    if tied.insert(g) {
                        graph.add_edge(
                            pages[p],
                            grp[g],
                            Edge {
                                kind: "invited_via",
                                start: None,
                                end: None,
                                group: Some(r.groups[g].name.clone()),
                                item: None,
                                source: format!("{}:{}", page.path, l.line),
                            },
                        );
                    }
                }
            }
        }

        let betweenness = membership_betweenness(r);
        let accounts = r
            .accounts
            .iter()
            .enumerate()
            .map(|(i, a)| {
                let mine: Vec<&crate::Share> = r.shares.iter().filter(|s| s.account == i).collect();
                let items: BTreeSet<String> = mine.iter().map(|s| s.item.clone()).collect();
                let groups: BTreeSet<usize> = r
                    .groups
                    .iter()
                    .enumerate()
                    .filter(|(_, g)| g.members.iter().any(|m| m.account == i))
                    .map(|(g, _)| g)
                    .collect();
                let times: Vec<i64> = mine.iter().filter_map(|s| s.utc).collect();
                AccountStats {
                    key: a.key.clone(),
                    country: a.country(),
                    display_names: a.display_names.clone(),
                    known_items_shared: items.into_iter().collect(),
                    shares: mine.len(),
                    first_share: times.iter().min().map(|t| crate::iso(*t)),
                    last_share: times.iter().max().map(|t| crate::iso(*t)),
                    groups: groups.iter().map(|&g| r.groups[g].name.clone()).collect(),
                    degree: graph.edges_directed(acc[i], petgraph::Direction::Outgoing).count()
                        + graph.edges_directed(acc[i], petgraph::Direction::Incoming).count(),
                    betweenness: betweenness[i],
                    bridge: groups.len() >= 2,
                    flags: a.flags.clone(),
                }
            })
            .collect();
        let items = item_names
            .iter()
            .map(|&name| {
                let shares: Vec<&crate::Share> = r.shares.iter().filter(|s| s.item == name).collect();
                let first = shares.first();
                let mut path: Vec<(String, Option<String>, String)> = Vec::new();
                let mut seen = BTreeSet::new();
                for s in &shares {
                    if seen.insert(s.group) {
                        path.push((
                            r.groups[s.group].name.clone(),
                            s.utc.map(crate::iso),
                            r.accounts[s.account].key.clone(),
                        ));
                    }
                }
                let sharers: BTreeSet<String> = shares.iter().map(|s| r.accounts[s.account].key.clone()).collect();
                ItemStats {
                    item: name.to_string(),
                    first_sharer: first.map(|s| r.accounts[s.account].key.clone()),
                    first_share: first.and_then(|s| s.utc).map(crate::iso),
                    shares: shares.len(),
                    sharers: sharers.into_iter().collect(),
                    path,
                }
            })
            .collect();
        let groups = r
            .groups
            .iter()
            .enumerate()
            .map(|(g, group)| {
                let mut members: Vec<String> = group
                    .members
                    .iter()
                    .map(|m| r.accounts[m.account].key.clone())
                    .collect();
                members.sort();
                let known: BTreeSet<String> = r
                    .shares
                    .iter()
                    .filter(|s| s.group == g)
                    .map(|s| s.item.clone())
                    .collect();
                GroupStats {
                    name: group.name.clone(),
                    platform: group.platform.clone(),
                    members,
                    known_items: known.into_iter().collect(),
                    messages: group.messages,
                    exports: group.exports.len(),
                    invite_links: r
                        .invite_links
                        .iter()
                        .filter(|l| l.group == Some(g))
                        .map(|l| (l.url.clone(), l.posted_in.clone()))
                        .collect(),
                }
            })
            .collect();
        Network {
            resolved,
            graph,
            accounts,
            items,
            groups,
        }
    }
}

/// Brandes' betweenness on the undirected account–group membership graph;
/// one value per account, normalised like networkx (`2/((n-1)(n-2))`).
fn membership_betweenness(r: &Resolved) -> Vec<f64> {
    let na = r.accounts.len();
    let n = na + r.groups.len();
    let mut adj: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (g, group) in r.groups.iter().enumerate() {
        for m in &group.members {
            if !adj[m.account].contains(&(na + g)) {
                adj[m.account].push(na + g);
                adj[na + g].push(m.account);
            }
        }
    }
    let mut cb = vec![0.0f64; n];
    let mut sigma = vec![0.0f64; n];
    let mut dist = vec![-1i64; n];
    let mut delta = vec![0.0f64; n];
    let mut preds: Vec<Vec<usize>> = vec![Vec::new(); n];
    for s in 0..n {
        let mut stack = Vec::with_capacity(n);
        for v in 0..n {
            preds[v].clear();
            sigma[v] = 0.0;
            dist[v] = -1;
            delta[v] = 0.0;
        }
        sigma[s] = 1.0;
        dist[s] = 0;
        let mut queue = VecDeque::from([s]);
        while let Some(v) = queue.pop_front() {
            stack.push(v);
            for &w in &adj[v] {
                if dist[w] < 0 {
                    dist[w] = dist[v] + 1;
                    queue.push_back(w);
                }
                if dist[w] == dist[v] + 1 {
                    sigma[w] += sigma[v];
                    preds[w].push(v);
                }
            }
        }
        while let Some(w) = stack.pop() {
            for &v in &preds[w] {
                delta[v] += sigma[v] / sigma[w] * (1.0 + delta[w]);
            }
            if w != s {
                cb[w] += delta[w];
            }
        }
    }
    // Each pair was counted from both ends (undirected): halve, then normalise.
    let scale = if n > 2 { 1.0 / ((n - 1) * (n - 2)) as f64 } else { 0.0 };
    cb.truncate(na);
    cb.iter().map(|c| c * scale).collect()
}
