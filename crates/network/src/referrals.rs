//! Per-country referral packages: one folder per country (ISO code, or
//! `unknown` for numbers without a region and names never tied to a
//! number) holding `referral.json` and a readable `referral.html`.
//!
//! A country's package lists the accounts of that country that shared
//! known items, with the evidence behind every share (file SHA-256, bank,
//! the list's entry id, the message), and the groups those shares were
//! made in. No package holds or links any image.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::graph::Network;
use crate::resolve::ShareEvidence;
use crate::Error;

/// One country's referral.
#[derive(Debug, Clone, Serialize)]
pub struct Referral {
    /// ISO code or `unknown`.
    pub country: String,
    /// Accounts that shared known items.
    pub accounts: Vec<ReferralAccount>,
    /// Groups their shares were made in.
    pub groups: Vec<ReferralGroup>,
}

/// An account in a referral.
#[derive(Debug, Clone, Serialize)]
pub struct ReferralAccount {
    /// E.164, or null for accounts known only by name.
    pub phone_e164: Option<String>,
    /// The account's key in the case (its number, or `name:`/`telegram:` label).
    pub key: String,
    /// Names it was shown under.
    pub display_names: Vec<String>,
    /// Groups it is a member of.
    pub groups: Vec<String>,
    /// Distinct known items shared.
    pub known_items_shared: Vec<String>,
    /// First share, RFC 3339 UTC.
    pub first_share: Option<String>,
    /// Last share.
    pub last_share: Option<String>,
    /// Flags (unresolved, number changed...).
    pub flags: Vec<String>,
    /// One record per match behind each share.
    pub evidence: Vec<ShareEvidence>,
}

/// A group in a referral.
#[derive(Debug, Clone, Serialize)]
pub struct ReferralGroup {
    /// Name.
    pub name: String,
    /// Platform.
    pub platform: String,
    /// Members (all countries): how many.
    pub members: usize,
    /// Members of this country.
    pub members_here: Vec<String>,
    /// Known items shared in it (all members).
    pub known_items: Vec<String>,
    /// Its invite links and where they were posted.
    pub invite_links: Vec<(String, Vec<String>)>,
}

/// Builds every country's referral, sorted by country.
pub fn referrals(net: &Network) -> Vec<Referral> {
    let r = &net.resolved;
    let mut by_country: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, s) in net.accounts.iter().enumerate() {
        if s.shares > 0 {
            by_country.entry(s.country.clone()).or_default().push(i);
        }
    }
    by_country
        .into_iter()
        .map(|(country, accounts)| {
            let mut group_ids = BTreeSet::new();
            let list = accounts
                .iter()
                .map(|&i| {
                    let a = &r.accounts[i];
                    let s = &net.accounts[i];
                    let evidence: Vec<ShareEvidence> = r
                        .shares
                        .iter()
                        .filter(|sh| sh.account == i)
                        .inspect(|sh| {
                            group_ids.insert(sh.group);
                        })
                        .flat_map(|sh| sh.evidence.iter().cloned())
                        .collect();
                    ReferralAccount {
                        phone_e164: a.phone_e164.clone(),
                        key: a.key.clone(),
                        display_names: a.display_names.clone(),
                        groups: s.groups.clone(),
                        known_items_shared: s.known_items_shared.clone(),
                        first_share: s.first_share.clone(),
                        last_share: s.last_share.clone(),
                        flags: a.flags.clone(),
                        evidence,
                    }
                })
                .collect();
            let groups = group_ids
                .into_iter()
                .map(|g| {
                    let gs = &net.groups[g];
                    ReferralGroup {
                        name: gs.name.clone(),
                        platform: gs.platform.clone(),
                        members: gs.members.len(),
                        members_here: r.groups[g]
                            .members
                            .iter()
                            .filter(|m| net.accounts[m.account].country == country)
                            .map(|m| r.accounts[m.account].key.clone())
                            .collect(),
                        known_items: gs.known_items.clone(),
                        invite_links: gs.invite_links.clone(),
                    }
                })
                .collect();
            Referral {
                country,
                accounts: list,
                groups,
            }
        })
        .collect()
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A readable page for one referral: tables only, no images, no scripts.
pub fn html(case_name: &str, r: &Referral) -> String {
    let mut s = String::new();
    let _ = write!(
        s,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Referral {c} — {n}</title>\n<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse;margin:1em 0}}td,th{{border:1px solid #999;padding:4px 8px;text-align:left;vertical-align:top}}code{{font-size:90%}}</style></head><body>\n<h1>Referral: {c}</h1>\n<p>Case {n}. {a} account(s) that shared known items (matched by hash against the listed banks), {g} group(s). Files are named by SHA-256 only; this page holds no images.</p>\n",
        c = esc(&r.country),
        n = esc(case_name),
        a = r.accounts.len(),
        g = r.groups.len()
    );
    s.push_str("<h2>Accounts</h2>\n<table><tr><th>Number</th><th>Names</th><th>Groups</th><th>Known items</th><th>First share</th><th>Last share</th><th>Flags</th></tr>\n");
    for a in &r.accounts {
        let _ = writeln!(
            s,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(a.phone_e164.as_deref().unwrap_or(&a.key)),
            esc(&a.display_names.join(", ")),
            esc(&a.groups.join(", ")),
            esc(&a.known_items_shared.join(", ")),
            esc(a.first_share.as_deref().unwrap_or("")),
            esc(a.last_share.as_deref().unwrap_or("")),
            esc(&a.flags.join(", "))
        );
    }
    s.push_str("</table>\n<h2>Evidence</h2>\n<table><tr><th>Account</th><th>File SHA-256</th><th>Bank</th><th>Entry</th><th>Signal</th><th>Message</th></tr>\n");
    for a in &r.accounts {
        for e in &a.evidence {
            let _ = writeln!(
                s,
                "<tr><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td><td>{} {}</td><td>{}</td></tr>",
                esc(a.phone_e164.as_deref().unwrap_or(&a.key)),
                esc(&e.file_sha256),
                esc(&e.bank),
                esc(&e.entry_id),
                esc(&e.signal),
                if e.signal == "pdq" {
                    format!("(distance {})", e.distance)
                } else {
                    String::new()
                },
                esc(&e.message)
            );
        }
    }
    s.push_str("</table>\n<h2>Groups</h2>\n<table><tr><th>Group</th><th>Platform</th><th>Members</th><th>Members from here</th><th>Known items</th><th>Invite links (where posted)</th></tr>\n");
    for g in &r.groups {
        let links: Vec<String> = g
            .invite_links
            .iter()
            .map(|(u, p)| format!("{} ({})", u, p.join("; ")))
            .collect();
        let _ = writeln!(
            s,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&g.name),
            esc(&g.platform),
            g.members,
            esc(&g.members_here.join(", ")),
            esc(&g.known_items.join(", ")),
            esc(&links.join("<br>"))
        );
    }
    s.push_str("</table>\n</body></html>\n");
    s
}

/// Writes one folder per country under `dir`; returns the folders.
pub fn write(net: &Network, case_name: &str, dir: &Path) -> Result<Vec<PathBuf>, Error> {
    let mut out = Vec::new();
    for r in referrals(net) {
        // Country codes are two letters or `unknown`; anything else is refused as a folder name.
        let safe: String = r.country.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
        let folder = dir.join(if safe.is_empty() { "unknown".into() } else { safe });
        std::fs::create_dir_all(&folder).map_err(|e| Error::io(&folder, e))?;
        let json = serde_json::to_string_pretty(&r).map_err(|e| Error::Invalid(e.to_string()))? + "\n";
        let pj = folder.join("referral.json");
        std::fs::write(&pj, json).map_err(|e| Error::io(&pj, e))?;
        let ph = folder.join("referral.html");
        std::fs::write(&ph, html(case_name, &r)).map_err(|e| Error::io(&ph, e))?;
        out.push(folder);
    }
    Ok(out)
}
