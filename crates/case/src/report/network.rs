//! The report's network section: groups, and who shared known items from
//! which country, read from the tables `tantalum chats import` keeps in
//! the case (the network crate writes them; a case without chats has none
//! and its report has no section).

use serde::Serialize;

use crate::store::CaseStore;
use crate::{format_time, CaseError};

/// The network in brief.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct NetworkSection {
    /// Accounts in the chats.
    pub accounts: u64,
    /// Of those, names no export tied to a number.
    pub unresolved: u64,
    /// Groups, merged over devices.
    pub groups: Vec<NetworkGroup>,
    /// Accounts that shared known items, first sharer first.
    pub sharers: Vec<NetworkSharer>,
}

/// A group.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NetworkGroup {
    /// Name.
    pub name: String,
    /// whatsapp or telegram.
    pub platform: String,
    /// Members.
    pub members: u64,
    /// Real messages.
    pub messages: u64,
    /// Distinct known items shared in it.
    pub known_items: u64,
}

/// An account that shared known items.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NetworkSharer {
    /// E.164 or the label it is known by.
    pub account: String,
    /// Names shown for it.
    pub display_names: Vec<String>,
    /// ISO region or `unknown`.
    pub country: String,
    /// Distinct known items.
    pub known_items: u64,
    /// Share events.
    pub shares: u64,
    /// First share.
    pub first_share: Option<String>,
    /// Last share.
    pub last_share: Option<String>,
}

/// Reads the section, `None` when the case has no chats.
pub fn load(case: &CaseStore) -> Result<Option<NetworkSection>, CaseError> {
    let db = case.connection();
    let err = |e| CaseError::db(&case.dir().join(crate::DB_FILE), e);
    let present: i64 = db
        .query_row(
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name IN ('accounts', 'chat_groups', 'shares', 'memberships', 'messages')",
            [],
            |r| r.get(0),
        )
        .map_err(err)?;
    if present < 5 {
        return Ok(None);
    }
    let (accounts, unresolved): (i64, i64) = db
        .query_row(
            "SELECT COUNT(*), COALESCE(SUM(resolved = 0), 0) FROM accounts",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .map_err(err)?;
    if accounts == 0 {
        return Ok(None);
    }
    let mut stmt = db
        .prepare(
            "SELECT g.name, g.platform,
                 (SELECT COUNT(*) FROM memberships m WHERE m.grp = g.id),
                 (SELECT COUNT(*) FROM messages x WHERE x.grp = g.id AND x.kind = 'message'),
                 (SELECT COUNT(DISTINCT s.item) FROM shares s WHERE s.grp = g.id)
             FROM chat_groups g ORDER BY g.id",
        )
        .map_err(err)?;
    let groups = stmt
        .query_map([], |r| {
            Ok(NetworkGroup {
                name: r.get(0)?,
                platform: r.get(1)?,
                members: r.get::<_, i64>(2)? as u64,
                messages: r.get::<_, i64>(3)? as u64,
                known_items: r.get::<_, i64>(4)? as u64,
            })
        })
        .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
        .map_err(err)?;
    let mut stmt = db
        .prepare(
            "SELECT a.key, a.display_names, COALESCE(a.region, 'unknown'), COUNT(DISTINCT s.item), COUNT(*),
                 MIN(s.utc), MAX(s.utc)
             FROM shares s JOIN accounts a ON a.id = s.account
             GROUP BY a.id ORDER BY MIN(s.utc), a.key",
        )
        .map_err(err)?;
    let time = |t: Option<i64>| t.map(|t| format_time(t.saturating_mul(1_000_000_000)));
    let sharers = stmt
        .query_map([], |r| {
            let names: String = r.get(1)?;
            Ok(NetworkSharer {
                account: r.get(0)?,
                display_names: serde_json::from_str(&names).unwrap_or_default(),
                country: r.get(2)?,
                known_items: r.get::<_, i64>(3)? as u64,
                shares: r.get::<_, i64>(4)? as u64,
                first_share: time(r.get(5)?),
                last_share: time(r.get(6)?),
            })
        })
        .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
        .map_err(err)?;
    Ok(Some(NetworkSection {
        accounts: accounts as u64,
        unresolved: unresolved as u64,
        groups,
        sharers,
    }))
}
