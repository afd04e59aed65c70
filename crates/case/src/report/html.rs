//! The page an examiner hands over: summary, matches grouped by category,
//! and a file table that sorts and filters in the browser, all in one file
//! with no network access. Metadata only: no image is embedded or linked.

use std::collections::BTreeMap;
use std::io::{self, Write};

use super::{CaseReport, FileEntry};

/// Rows past this many go to the JSON and CSV reports only; a browser
/// struggles with a table of millions.
const MAX_TABLE_ROWS: usize = 100_000;

fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#111}\
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #ccc}\
table{border-collapse:collapse;margin:.5em 0}th,td{border:1px solid #ccc;padding:3px 6px;text-align:left;vertical-align:top}\
th{background:#f2f2f2;cursor:pointer;user-select:none}td.h{font-family:monospace;font-size:12px;word-break:break-all}\
.note{color:#555}.flag{background:#fde8e8}.err{color:#a00}input{padding:4px;width:30em}";

const SCRIPT: &str = r#"
function sortTable(th){const t=th.closest('table'),b=t.tBodies[0],i=[...th.parentNode.children].indexOf(th);
const asc=th.dataset.asc!=='1';th.dataset.asc=asc?'1':'0';const rows=[...b.rows];
const key=r=>{const v=r.cells[i].dataset.v??r.cells[i].textContent;const n=parseFloat(v);return isNaN(n)||!/^[-\d.]+$/.test(v)?v.toLowerCase():n};
rows.sort((x,y)=>{const a=key(x),c=key(y);return (a<c?-1:a>c?1:0)*(asc?1:-1)});rows.forEach(r=>b.appendChild(r))}
function filterTable(input,id){const q=input.value.toLowerCase();for(const r of document.getElementById(id).tBodies[0].rows){r.style.display=r.textContent.toLowerCase().includes(q)?'':'none'}}
document.querySelectorAll('th').forEach(th=>th.addEventListener('click',()=>sortTable(th)));
"#;

fn network_section(net: &super::NetworkSection, out: &mut dyn Write) -> io::Result<()> {
    writeln!(
        out,
        "<h2>Network</h2><p>{} accounts in the chats ({} names never tied to a number); {} groups; {} accounts shared known items. \
         <code>tantalum network</code> writes the graph, <code>tantalum referrals</code> one package per country.</p>",
        net.accounts,
        net.unresolved,
        net.groups.len(),
        net.sharers.len()
    )?;
    writeln!(
        out,
        "<table><thead><tr><th>Group</th><th>Platform</th><th>Members</th><th>Messages</th><th>Known items</th></tr></thead><tbody>"
    )?;
    for g in &net.groups {
        writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&g.name),
            esc(&g.platform),
            g.members,
            g.messages,
            g.known_items
        )?;
    }
    writeln!(
        out,
        "</tbody></table><table><thead><tr><th>Account</th><th>Names</th><th>Country</th><th>Known items</th>\
         <th>Shares</th><th>First share</th><th>Last share</th></tr></thead><tbody>"
    )?;
    for s in &net.sharers {
        writeln!(
            out,
            "<tr class=\"flag\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&s.account),
            esc(&s.display_names.join(", ")),
            esc(&s.country),
            s.known_items,
            s.shares,
            esc(s.first_share.as_deref().unwrap_or("")),
            esc(s.last_share.as_deref().unwrap_or(""))
        )?;
    }
    writeln!(out, "</tbody></table>")
}

pub(super) fn write(report: &CaseReport, out: &mut dyn Write) -> io::Result<()> {
    let s = &report.summary;
    writeln!(
        out,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'\">\
         <title>Case {name}: tantalum report</title><style>{STYLE}</style></head><body>",
        name = esc(&report.case)
    )?;
    writeln!(out, "<h1>Case {}</h1>", esc(&report.case))?;
    writeln!(
        out,
        "<p class=\"note\">Written by {} at {}. This report names files by path and hash only: \
         no image or video is embedded or linked.</p>",
        esc(&report.tool_version),
        esc(&report.generated_at)
    )?;

    writeln!(out, "<h2>Summary</h2><table>")?;
    let rows: [(&str, u64); 9] = [
        ("Files and archive members", s.files),
        ("Images hashed (PDQ)", s.images),
        ("Videos hashed (vPDQ)", s.videos),
        ("Archives opened", s.archives),
        ("Matching flagged material exactly", s.known_exact),
        ("Matching flagged material by near hash only", s.known_near),
        ("On known-file lists", s.known_files),
        ("Skipped", s.skipped),
        ("Errors", s.errors),
    ];
    for (label, n) in rows {
        writeln!(out, "<tr><th>{label}</th><td>{n}</td></tr>")?;
    }
    writeln!(out, "</table>")?;
    if !s.by_category.is_empty() {
        writeln!(
            out,
            "<table><thead><tr><th>Category</th><th>Files</th></tr></thead><tbody>"
        )?;
        for (category, n) in &s.by_category {
            writeln!(out, "<tr><td>{}</td><td>{n}</td></tr>", esc(category))?;
        }
        writeln!(out, "</tbody></table>")?;
    }

    writeln!(
        out,
        "<h2>Evidence sources</h2><table><thead><tr><th>#</th><th>Label</th><th>Path scanned</th><th>Kind</th><th>Scan complete</th></tr></thead><tbody>"
    )?;
    for src in &report.sources {
        writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            src.id,
            esc(src.label.as_deref().unwrap_or("")),
            esc(&src.root),
            esc(&src.kind),
            if src.complete { "yes" } else { "no" }
        )?;
    }
    writeln!(out, "</tbody></table>")?;

    writeln!(out, "<h2>Matches by category</h2>")?;
    let mut by_category: BTreeMap<String, Vec<&FileEntry>> = BTreeMap::new();
    for f in &report.files {
        let mut categories: Vec<String> = f.flagged().flat_map(|m| m.categories.clone()).collect();
        if f.flagged().next().is_none() {
            continue;
        }
        categories.sort();
        categories.dedup();
        if categories.is_empty() {
            categories.push("uncategorised".into());
        }
        for c in categories {
            by_category.entry(c).or_default().push(f);
        }
    }
    if by_category.is_empty() {
        writeln!(out, "<p>No file matched flagged material.</p>")?;
    }
    for (n, (category, files)) in by_category.iter().enumerate() {
        writeln!(
            out,
            "<h3>{} ({} files)</h3><table id=\"cat{n}\"><thead><tr><th>Source</th><th>Path</th><th>SHA-256</th>\
             <th>Bank</th><th>Entry</th><th>Signal</th><th>Distance</th><th>Video match %</th></tr></thead><tbody>",
            esc(category),
            files.len()
        )?;
        for f in files {
            for m in f.flagged() {
                let pct = match (m.query_match_pct, m.target_match_pct) {
                    (Some(q), Some(t)) => format!("{q:.1} / {t:.1}"),
                    _ => String::new(),
                };
                writeln!(
                    out,
                    "<tr class=\"flag\"><td>{}</td><td>{}</td><td class=\"h\">{}</td><td>{}</td><td class=\"h\">{} #{}</td>\
                     <td>{}</td><td>{}</td><td>{}</td></tr>",
                    f.source,
                    esc(&f.path),
                    esc(f.sha256.as_deref().unwrap_or("")),
                    esc(&m.bank),
                    esc(&m.entry_hash),
                    m.entry_id,
                    esc(&m.signal),
                    m.distance,
                    pct
                )?;
            }
        }
        writeln!(out, "</tbody></table>")?;
    }

    if let Some(net) = &report.network {
        network_section(net, out)?;
    }

    writeln!(
        out,
        "<h2>All files</h2><p><input type=\"search\" placeholder=\"Filter: path, hash, kind, status…\" \
         oninput=\"filterTable(this,'files')\"> <span class=\"note\">Click a column heading to sort.</span></p>"
    )?;
    if report.files.len() > MAX_TABLE_ROWS {
        writeln!(
            out,
            "<p class=\"note\">The first {MAX_TABLE_ROWS} of {} files are listed; the JSON and CSV reports hold all.</p>",
            report.files.len()
        )?;
    }
    writeln!(
        out,
        "<table id=\"files\"><thead><tr><th>Source</th><th>Path</th><th>Kind</th><th>Size</th><th>Status</th>\
         <th>Matches</th><th>SHA-256</th><th>PDQ</th><th>Quality</th><th>Modified</th><th>Note</th></tr></thead><tbody>"
    )?;
    for f in report.files.iter().take(MAX_TABLE_ROWS) {
        let flagged = f.flagged().count();
        writeln!(
            out,
            "<tr{}><td>{}</td><td>{}</td><td>{}</td><td data-v=\"{}\">{}</td><td>{}</td><td>{}</td><td class=\"h\">{}</td>\
             <td class=\"h\">{}</td><td>{}</td><td>{}</td><td class=\"err\">{}</td></tr>",
            if flagged > 0 { " class=\"flag\"" } else { "" },
            f.source,
            esc(&f.path),
            esc(&f.kind),
            f.size,
            f.size,
            f.status.name(),
            flagged,
            esc(f.sha256.as_deref().unwrap_or("")),
            esc(f.pdq.as_deref().unwrap_or("")),
            f.quality.map(|q| q.to_string()).unwrap_or_default(),
            esc(f.mtime.as_deref().unwrap_or("")),
            esc(f.error.as_deref().unwrap_or(""))
        )?;
    }
    writeln!(out, "</tbody></table><script>{SCRIPT}</script></body></html>")
}

#[cfg(test)]
mod tests {
    use super::esc;

    #[test]
    fn escapes_markup_in_paths() {
        assert_eq!(
            esc("<img src=x onerror=\"a\">&'"),
            "&lt;img src=x onerror=&quot;a&quot;&gt;&amp;&#39;"
        );
    }
}
