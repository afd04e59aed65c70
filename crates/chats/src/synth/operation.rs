//! A synthetic *operation*: several groups sharing members, the same group
//! exported from two seized phones, a Telegram group with a recruiter,
//! known items passed from group to group, and invite links on forum pages,
//! with the ground truth the network tests compare against.
//!
//! World first, rendering second, as in the parent module: people, groups,
//! memberships and shares are decided in UTC; each device then renders the
//! groups it exports in its own locale, time zone and address book. The
//! truth (`truth/network.json`) is derived from the world, never from the
//! rendered text.
//!
//! Everything is fictional and benign: invented names, numbers in reserved
//! or synthetic ranges, generated pictures.

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::path::Path;

use ::synth::Rng;
use serde::Serialize;

use super::{code, lang_of, make_phone, phrase, wa_header, FIRST, LAST, TOPICS};
use crate::model::EventType;
use crate::phrases;
use crate::time::LocalTime;

/// The size of an operation.
#[derive(Debug, Clone)]
pub struct OpSpec {
    /// Seed for every choice.
    pub seed: u64,
    /// People in all (WhatsApp and Telegram).
    pub people: usize,
    /// WhatsApp groups.
    pub wa_groups: usize,
    /// Telegram groups.
    pub tg_groups: usize,
    /// Ordinary messages over all groups.
    pub messages: usize,
    /// Known items (pictures on the test hash list).
    pub items: usize,
}

impl OpSpec {
    /// The small operation the tests and the demo use: 16 people, two
    /// WhatsApp groups bridged by two members, one Telegram group.
    pub fn small(seed: u64) -> OpSpec {
        OpSpec {
            seed,
            people: 16,
            wa_groups: 2,
            tg_groups: 1,
            messages: 120,
            items: 5,
        }
    }

    /// The benchmark's operation: 200 accounts, 30 groups, 50k messages.
    pub fn large(seed: u64) -> OpSpec {
        OpSpec {
            seed,
            people: 200,
            wa_groups: 28,
            tg_groups: 2,
            messages: 50_000,
            items: 40,
        }
    }
}

#[derive(Debug, Clone)]
struct Person {
    name: String,
    /// E.164 for WhatsApp people, `None` for Telegram-only people.
    phone: Option<String>,
    pretty: String,
    region: Option<&'static str>,
    tg_id: u64,
}

#[derive(Debug, Clone)]
enum Act {
    Created {
        by: usize,
    },
    Added {
        by: usize,
        who: Vec<usize>,
    },
    Joined {
        who: usize,
        inviter: usize,
    },
    Left {
        who: usize,
    },
    Msg {
        by: usize,
        text: String,
        item: Option<usize>,
    },
}

struct Group {
    name: String,
    telegram: bool,
    members: Vec<usize>,
    invite: String,
    acts: Vec<(i64, Act)>,
}

struct Device {
    owner: usize,
    /// android, ios or telegram.
    os: &'static str,
    locale: &'static str,
    tz_minutes: i64,
    groups: Vec<usize>,
}

/// Ground truth of an operation, written as `truth/network.json`.
#[derive(Debug, Clone, Serialize)]
pub struct OpTruth {
    /// Every person.
    pub accounts: Vec<TruthAccount>,
    /// Every group.
    pub groups: Vec<TruthGroup>,
    /// The seized devices and how to import their exports.
    pub devices: Vec<TruthDevice>,
    /// Each known item: its list id and its first sharer.
    pub items: Vec<TruthItem>,
    /// Accounts (keys) in two or more groups.
    pub bridges: Vec<String>,
    /// Country (ISO code or `unknown`) → account keys that shared known items.
    pub referrals: BTreeMap<String, Vec<String>>,
}

/// A person as the network must see them.
#[derive(Debug, Clone, Serialize)]
pub struct TruthAccount {
    /// E.164 when resolvable, else `name:<label>` (WhatsApp, no number
    /// anywhere) or `telegram:<name>`.
    pub key: String,
    /// The full name.
    pub name: String,
    /// E.164 (also for unresolvable people: what the world knows).
    pub phone_e164: Option<String>,
    /// ISO region, `None` for drama ranges and Telegram-only people.
    pub region: Option<String>,
    /// Some export or contacts file ties the name to the number.
    pub resolved: bool,
    /// Group indices.
    pub groups: Vec<usize>,
    /// Known items (list ids) this person shared.
    pub items_shared: Vec<String>,
}

/// A group.
#[derive(Debug, Clone, Serialize)]
pub struct TruthGroup {
    /// Name.
    pub name: String,
    /// whatsapp or telegram.
    pub platform: String,
    /// Member account keys, sorted.
    pub members: Vec<String>,
    /// Ordinary messages (one per real message, whatever the number of exports).
    pub messages: usize,
    /// The invite code posted on the forum page and in the chat.
    pub invite_code: String,
    /// Devices that exported it.
    pub exported_by: Vec<usize>,
}

/// A seized device.
#[derive(Debug, Clone, Serialize)]
pub struct TruthDevice {
    /// 1-based.
    pub device: usize,
    /// android, ios or telegram.
    pub os: String,
    /// Locale.
    pub locale: String,
    /// Offset of its clock from UTC, minutes.
    pub utc_offset_minutes: i64,
    /// Owner's number (none for Telegram).
    pub owner_e164: Option<String>,
    /// The owner's own label in its exports.
    pub owner_label: String,
    /// Export paths, relative to the case folder.
    pub exports: Vec<String>,
    /// The device's contacts file, when it has one.
    pub contacts: Option<String>,
}

/// A known item.
#[derive(Debug, Clone, Serialize)]
pub struct TruthItem {
    /// Its id on `lists/test-hashes.csv`.
    pub id: String,
    /// Account key of the first sharer.
    pub first_sharer: String,
    /// The groups it went through, in time order (indices).
    pub path: Vec<usize>,
    /// Share events.
    pub shares: usize,
}

fn person_name(i: usize) -> String {
    let base = format!("{} {}", FIRST[i % FIRST.len()], LAST[(i / FIRST.len()) % LAST.len()]);
    if i >= FIRST.len() * LAST.len() {
        format!("{base} {}", i / (FIRST.len() * LAST.len()) + 1)
    } else {
        base
    }
}

fn item_bytes(seed: u64, k: usize) -> Vec<u8> {
    ::synth::jpeg(&::synth::photo(seed * 7919 + k as u64 + 1, 64, 48), 85)
}

fn other_photo(seed: u64, k: usize) -> Vec<u8> {
    ::synth::jpeg(&::synth::photo(seed * 104_729 + 50_000 + k as u64, 64, 48), 85)
}

/// Writes an operation under `dir`: `exports/deviceN/…`, `pages/forum-*.html`,
/// `lists/test-hashes.csv`, `truth/network.json`. Returns the truth.
pub fn write_operation(spec: &OpSpec, dir: &Path) -> io::Result<OpTruth> {
    let mut rng = Rng::new(spec.seed ^ 0x0BE7);
    let tg_people = (spec.people / 10).max(4).min(spec.people.saturating_sub(4));
    let wa_people = spec.people - tg_people;
    // People: unique fictional numbers for WhatsApp people.
    let mut seen = BTreeSet::new();
    let mut people = Vec::new();
    for i in 0..spec.people {
        let name = person_name(i);
        if i >= wa_people {
            people.push(Person {
                name,
                phone: None,
                pretty: String::new(),
                region: None,
                tg_id: 7_000_000 + i as u64,
            });
            continue;
        }
        let (phone, pretty, region) = loop {
            let p = make_phone(&mut rng, i);
            if seen.insert(p.0.clone()) {
                break p;
            }
        };
        people.push(Person {
            name,
            phone: Some(phone),
            pretty,
            region,
            tg_id: 7_000_000 + i as u64,
        });
    }
    // Groups: overlapping blocks of WhatsApp people, so neighbours share two members (the bridges).
    let base_t = LocalTime::new(2024, 3, 4, 8, 0, 0).expect("valid").to_unix();
    let day = 86_400i64;
    let mut groups: Vec<Group> = Vec::new();
    let step = wa_people.div_ceil(spec.wa_groups.max(1)).max(3);
    for g in 0..spec.wa_groups {
        let size = (step + 2).min(wa_people);
        let members: Vec<usize> = (0..size).map(|j| (g * step + j) % wa_people).collect();
        groups.push(Group {
            name: format!(
                "{} circle {}",
                ["Garden", "Trail", "Chess", "Choir", "Bakers", "Stars"][g % 6],
                g + 1
            ),
            telegram: false,
            members,
            invite: code(&mut rng, 22),
            acts: vec![],
        });
    }
    for t in 0..spec.tg_groups {
        let members: Vec<usize> = (wa_people..spec.people)
            .filter(|p| (p + t).is_multiple_of(spec.tg_groups.max(1)) || *p == wa_people)
            .collect();
        groups.push(Group {
            name: format!("Night sky club {}", t + 1),
            telegram: true,
            members,
            invite: code(&mut rng, 16),
            acts: vec![],
        });
    }
    // Devices: an Android phone exports the even WhatsApp groups, an iPhone
    // all of them (so even groups are exported twice), a desktop Telegram.
    let wa_groups: Vec<usize> = (0..spec.wa_groups).collect();
    let bridge_owner = groups.first().map(|g| g.members[g.members.len() - 1]).unwrap_or(0);
    let mut devices = vec![
        Device {
            owner: groups.first().map(|g| g.members[1]).unwrap_or(0),
            os: "android",
            locale: "en-US",
            tz_minutes: -300,
            groups: wa_groups.iter().copied().filter(|g| g.is_multiple_of(2)).collect(),
        },
        Device {
            owner: bridge_owner,
            os: "ios",
            locale: "it-IT",
            tz_minutes: 60,
            groups: wa_groups.clone(),
        },
    ];
    if spec.tg_groups > 0 {
        devices.push(Device {
            owner: wa_people,
            os: "telegram",
            locale: "de-DE",
            tz_minutes: 60,
            groups: (spec.wa_groups..groups.len()).collect(),
        });
    }
    // A phone exports only groups its owner is in: the owner is added where missing.
    for dev in &devices {
        for &g in &dev.groups {
            if !groups[g].members.contains(&dev.owner) {
                groups[g].members.insert(1, dev.owner);
            }
        }
    }
    // Membership: the creator adds all but the last member, who joins by the
    // invite link a day later (Telegram: recruited by the creator); the
    // second member leaves at the very end.
    let end_t = base_t + 32 * day;
    for (g, group) in groups.iter_mut().enumerate() {
        let t0 = base_t + g as i64 * 600;
        let creator = group.members[0];
        let (initial, last) = group.members.split_at(group.members.len() - 1);
        group.acts.push((t0, Act::Created { by: creator }));
        group.acts.push((
            t0 + 60,
            Act::Added {
                by: creator,
                who: initial[1..].to_vec(),
            },
        ));
        group.acts.push((
            t0 + 120,
            Act::Msg {
                by: creator,
                text: format!(
                    "invite for friends: {}",
                    if group.telegram {
                        format!("https://t.me/+{}", group.invite)
                    } else {
                        format!("https://chat.whatsapp.com/{}", group.invite)
                    }
                ),
                item: None,
            },
        ));
        group.acts.push((
            t0 + day,
            Act::Joined {
                who: last[0],
                inviter: creator,
            },
        ));
        if group.members.len() > 3 {
            group
                .acts
                .push((end_t + g as i64 * 60, Act::Left { who: group.members[1] }));
        }
    }
    // Ordinary messages: every member speaks at least once in each group
    // (so every device's label for them meets the other devices' labels);
    // times after the joins, at whole seconds.
    let n_groups = groups.len();
    let mut counter = 0usize;
    let span = 28 * day;
    for (g, group) in groups.iter_mut().enumerate() {
        let per = spec.messages / n_groups + usize::from(g < spec.messages % n_groups);
        for k in 0..per {
            let by = if k < group.members.len() {
                group.members[k]
            } else {
                group.members[(rng.next_u64() % group.members.len() as u64) as usize]
            };
            counter += 1;
            let t = base_t + 2 * day + (span * k as i64) / per.max(1) as i64 + (rng.next_u64() % 50) as i64;
            let text = format!("{} #{counter}", TOPICS[(rng.next_u64() % TOPICS.len() as u64) as usize]);
            // A few unrelated pictures among the chatter.
            let item = (k % 17 == 5).then_some(usize::MAX - counter);
            group.acts.push((
                t,
                Act::Msg {
                    by,
                    text: if item.is_some() { String::new() } else { text },
                    item,
                },
            ));
        }
    }
    // Known items: first shared in one group, then carried to the next
    // groups by the members the groups have in common, a day per hop.
    let mut truth_items = Vec::new();
    for k in 0..spec.items {
        let tg = spec.tg_groups > 0 && k % 5 == 4;
        let g0 = if tg {
            spec.wa_groups + k % spec.tg_groups
        } else {
            k % spec.wa_groups.max(1)
        };
        let t0 = base_t + 3 * day + k as i64 * 3_700;
        let members = &groups[g0].members;
        let sharer = members[2 + k % (members.len() - 2)];
        let mut path = vec![g0];
        groups[g0].acts.push((
            t0,
            Act::Msg {
                by: sharer,
                text: String::new(),
                item: Some(k),
            },
        ));
        let mut shares = 1;
        if !tg && spec.wa_groups > 1 {
            let hops = 1 + k % 2;
            let mut g = g0;
            for h in 1..=hops {
                let next = (g + 1) % spec.wa_groups;
                if path.contains(&next) {
                    break;
                }
                let Some(&bridge) = groups[g].members.iter().find(|m| groups[next].members.contains(m)) else {
                    break;
                };
                groups[next].acts.push((
                    t0 + h as i64 * (day + 4_321),
                    Act::Msg {
                        by: bridge,
                        text: String::new(),
                        item: Some(k),
                    },
                ));
                path.push(next);
                shares += 1;
                g = next;
            }
        }
        truth_items.push((k, sharer, path, shares));
    }
    for g in groups.iter_mut() {
        g.acts.sort_by_key(|(t, _)| *t);
    }

    // Address books: device d shows person p by number when (p + d) % 3 == 0, by name otherwise.
    let shows_number = |d: usize, p: usize| (p + d + 1).is_multiple_of(3);
    // The Android phone's contacts file names a few of the people it shows by name.
    let in_vcard = |p: usize| p.is_multiple_of(5);

    let exports_dir = dir.join("exports");
    let lists = dir.join("lists");
    let pages = dir.join("pages");
    let truth_dir = dir.join("truth");
    for d in [&exports_dir, &lists, &pages, &truth_dir] {
        std::fs::create_dir_all(d)?;
    }
    let mut truth_devices = Vec::new();
    for (d, dev) in devices.iter().enumerate() {
        let ddir = exports_dir.join(format!("device{}-{}", d + 1, dev.os));
        std::fs::create_dir_all(&ddir)?;
        let mut exported = Vec::new();
        for &g in &dev.groups {
            let rel = render_group(&groups[g], g, dev, d, &people, spec.seed, &ddir, &shows_number)?;
            exported.push(format!("exports/device{}-{}/{rel}", d + 1, dev.os));
        }
        let contacts = if dev.os == "android" {
            let mut vcf = String::new();
            for (p, person) in people.iter().enumerate().take(wa_people) {
                if in_vcard(p) && !shows_number(d, p) && p != dev.owner {
                    vcf.push_str(&format!(
                        "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:{}\r\nTEL;TYPE=CELL:{}\r\nNOTE:synthetic fixture\r\nEND:VCARD\r\n",
                        person.name, person.pretty
                    ));
                }
            }
            std::fs::write(ddir.join("contacts.vcf"), vcf)?;
            Some(format!("exports/device{}-{}/contacts.vcf", d + 1, dev.os))
        } else {
            None
        };
        truth_devices.push(TruthDevice {
            device: d + 1,
            os: dev.os.into(),
            locale: dev.locale.into(),
            utc_offset_minutes: dev.tz_minutes,
            owner_e164: people[dev.owner].phone.clone(),
            owner_label: people[dev.owner].name.clone(),
            exports: exported,
            contacts,
        });
    }
    // Hash list: every known item, and one never seen in the case.
    let mut list = String::from("id,md5,pdq,category\n");
    for k in 0..=spec.items {
        let bytes = if k == spec.items {
            item_bytes(spec.seed ^ 0xDEAD, 0)
        } else {
            item_bytes(spec.seed, k)
        };
        let a = media::analyze_bytes(&bytes, None, &Default::default(), &mut pdq::Hasher::new());
        if let (Some(dg), Some(p)) = (a.digests, a.pdq) {
            let id = if k == spec.items {
                "OP-unseen".to_string()
            } else {
                format!("OP-{k}")
            };
            list.push_str(&format!("{id},{},{},TEST\n", media::hex(&dg.md5), p.hash.to_hex()));
        }
    }
    std::fs::write(lists.join("test-hashes.csv"), list)?;
    // One forum page advertising every group's invite link (and a decoy).
    let mut page = String::from("<!DOCTYPE html>\n<html><head><title>Hobby forum (synthetic)</title></head><body>\n");
    for g in &groups {
        let url = if g.telegram {
            format!("https://t.me/+{}", g.invite)
        } else {
            format!("https://chat.whatsapp.com/{}", g.invite)
        };
        page.push_str(&format!(
            "<div class=\"post\">join {}: <a href=\"{url}\">{url}</a></div>\n",
            g.name
        ));
    }
    page.push_str(
        "<div class=\"post\">decoy: https://chat-whatsapp.com.example/NotAGroupCode12345</div>\n</body></html>\n",
    );
    std::fs::write(pages.join("forum-invites.html"), page)?;

    // Truth.
    let resolved = |p: usize| -> bool {
        if people[p].phone.is_none() {
            return false;
        }
        devices.iter().enumerate().any(|(d, dev)| {
            dev.owner == p
                || (dev.groups.iter().any(|&g| groups[g].members.contains(&p))
                    && (shows_number(d, p) || (dev.os == "android" && in_vcard(p))))
        })
    };
    let key = |p: usize| -> String {
        match &people[p].phone {
            Some(e) if resolved(p) => e.clone(),
            Some(_) => format!("name:{}", people[p].name),
            None => format!("telegram:{}", people[p].name),
        }
    };
    let mut items_by_person: BTreeMap<usize, BTreeSet<String>> = BTreeMap::new();
    for g in &groups {
        for (_, a) in &g.acts {
            if let Act::Msg { by, item: Some(k), .. } = a {
                if *k < spec.items {
                    items_by_person.entry(*by).or_default().insert(format!("OP-{k}"));
                }
            }
        }
    }
    let accounts: Vec<TruthAccount> = (0..spec.people)
        .map(|p| TruthAccount {
            key: key(p),
            name: people[p].name.clone(),
            phone_e164: people[p].phone.clone(),
            region: people[p].region.map(str::to_string),
            resolved: resolved(p),
            groups: (0..n_groups).filter(|&g| groups[g].members.contains(&p)).collect(),
            items_shared: items_by_person
                .get(&p)
                .map(|s| s.iter().cloned().collect())
                .unwrap_or_default(),
        })
        .collect();
    let mut referrals: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (p, a) in accounts.iter().enumerate() {
        if !a.items_shared.is_empty() {
            let country = if resolved(p) {
                a.region.clone().unwrap_or_else(|| "unknown".into())
            } else {
                "unknown".into()
            };
            referrals.entry(country).or_default().push(a.key.clone());
        }
    }
    referrals.values_mut().for_each(|v| v.sort());
    let mut bridges: Vec<String> = accounts
        .iter()
        .filter(|a| a.groups.len() >= 2)
        .map(|a| a.key.clone())
        .collect();
    bridges.sort();
    let truth = OpTruth {
        groups: groups
            .iter()
            .enumerate()
            .map(|(g, grp)| {
                let mut members: Vec<String> = grp.members.iter().map(|&p| key(p)).collect();
                members.sort();
                TruthGroup {
                    name: grp.name.clone(),
                    platform: if grp.telegram { "telegram" } else { "whatsapp" }.into(),
                    members,
                    messages: grp.acts.iter().filter(|(_, a)| matches!(a, Act::Msg { .. })).count(),
                    invite_code: grp.invite.clone(),
                    exported_by: devices
                        .iter()
                        .enumerate()
                        .filter(|(_, d)| d.groups.contains(&g))
                        .map(|(d, _)| d + 1)
                        .collect(),
                }
            })
            .collect(),
        accounts,
        devices: truth_devices,
        items: truth_items
            .into_iter()
            .map(|(k, sharer, path, shares)| TruthItem {
                id: format!("OP-{k}"),
                first_sharer: key(sharer),
                path,
                shares,
            })
            .collect(),
        bridges,
        referrals,
    };
    std::fs::write(
        truth_dir.join("network.json"),
        serde_json::to_vec_pretty(&truth).map_err(io::Error::other)?,
    )?;
    Ok(truth)
}

/// Renders one group as `dev` exports it; returns the export's path relative to the device folder.
#[allow(clippy::too_many_arguments)]
fn render_group(
    group: &Group,
    g: usize,
    dev: &Device,
    d: usize,
    people: &[Person],
    seed: u64,
    ddir: &Path,
    shows_number: &dyn Fn(usize, usize) -> bool,
) -> io::Result<String> {
    let mut rng = Rng::new(seed ^ (g as u64 * 31 + d as u64));
    if dev.os == "telegram" {
        return render_telegram(group, g, dev, people, seed, ddir);
    }
    let ios = dev.os == "ios";
    let lang = lang_of(dev.locale);
    let and = phrases::and_word(lang);
    let label = |p: usize| -> String {
        if p == dev.owner || !shows_number(d, p) {
            people[p].name.clone()
        } else {
            people[p].pretty.clone()
        }
    };
    let lrm = "\u{200E}";
    let mut lines = Vec::new();
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    let mut counter = 0usize;
    for (utc, act) in &group.acts {
        let mut ts = LocalTime::from_unix(utc + dev.tz_minutes * 60);
        if !ios {
            ts.second = 0;
        }
        let header = wa_header(&ts, dev.locale, ios, false);
        let mut notice = |event: EventType, actor: Option<usize>, targets: &[usize], value: &str, pseudo: &str| {
            let you_actor = actor == Some(dev.owner) && event != EventType::MemberLeft;
            let you_target = targets == [dev.owner];
            if let Some(p) = phrase(lang, event, you_actor, you_target, false, &mut rng) {
                let names: Vec<String> = targets.iter().map(|&t| label(t)).collect();
                let text = phrases::render(
                    p.template,
                    &actor.map(label).unwrap_or_default(),
                    &names,
                    value,
                    "",
                    and,
                );
                lines.push(if ios {
                    format!("{header}{pseudo}: {lrm}{text}")
                } else {
                    format!("{header}{text}")
                });
            }
        };
        match act {
            Act::Created { by } => notice(EventType::GroupCreated, Some(*by), &[], &group.name, &group.name),
            Act::Added { by, who } => {
                // "A added you" and "A added B, C" are separate notices.
                if who.contains(&dev.owner) {
                    notice(EventType::MemberAdded, Some(*by), &[dev.owner], "", &group.name);
                }
                // One notice per person: the admin adds them one by one.
                for &w in who.iter().filter(|&&w| w != dev.owner) {
                    notice(EventType::MemberAdded, Some(*by), &[w], "", &group.name);
                }
            }
            Act::Joined { who, .. } => notice(EventType::MemberJoinedViaLink, None, &[*who], "", &label(*who)),
            Act::Left { who } => notice(EventType::MemberLeft, Some(*who), &[], "", &label(*who)),
            Act::Msg { by, text, item } => {
                let who = label(*by);
                match item {
                    None => lines.push(format!("{header}{who}: {text}")),
                    Some(k) => {
                        counter += 1;
                        let bytes = if *k >= usize::MAX / 2 {
                            other_photo(seed, usize::MAX - k)
                        } else {
                            item_bytes(seed, *k)
                        };
                        let name = if ios {
                            format!(
                                "{counter:08}-PHOTO-{:04}-{:02}-{:02}-{:02}-{:02}-{:02}.jpg",
                                ts.year, ts.month, ts.day, ts.hour, ts.minute, ts.second
                            )
                        } else {
                            format!("IMG-{:04}{:02}{:02}-WA{counter:04}.jpg", ts.year, ts.month, ts.day)
                        };
                        if ios {
                            let word = phrases::IOS_ATTACHED
                                .iter()
                                .find(|(l, _)| *l == lang)
                                .map(|(_, s)| *s)
                                .unwrap_or("attached");
                            lines.push(format!("{header}{who}: {lrm}<{word}: {name}>"));
                        } else {
                            let word = phrases::ANDROID_ATTACHED
                                .iter()
                                .find(|(l, _)| *l == lang)
                                .map(|(_, s)| *s)
                                .unwrap_or("(file attached)");
                            lines.push(format!("{header}{who}: {name} {word}"));
                        }
                        files.push((name, bytes));
                    }
                }
            }
        }
    }
    let chat_name = if ios {
        "_chat.txt".to_string()
    } else {
        format!("WhatsApp Chat with {}.txt", group.name)
    };
    let mut text = lines.join("\n");
    text.push('\n');
    let mut entries = vec![(chat_name, text.into_bytes())];
    entries.extend(files);
    let zip_name = format!("WhatsApp Chat - {}.zip", group.name);
    std::fs::write(ddir.join(&zip_name), super::zip_of(&entries))?;
    Ok(zip_name)
}

fn render_telegram(
    group: &Group,
    g: usize,
    dev: &Device,
    people: &[Person],
    seed: u64,
    ddir: &Path,
) -> io::Result<String> {
    use serde_json::{json, Value};
    let folder = format!("ChatExport_{}", g + 1);
    let root = ddir.join(&folder);
    std::fs::create_dir_all(root.join("photos"))?;
    let name = |p: usize| Value::String(people[p].name.clone());
    let mut msgs = Vec::new();
    for (i, (utc, act)) in group.acts.iter().enumerate() {
        let id = 1000 + i as i64;
        let local = LocalTime::from_unix(utc + dev.tz_minutes * 60);
        let mut m = json!({"id": id, "type": "service", "date": local.iso(), "date_unixtime": utc.to_string()});
        let obj = m.as_object_mut().expect("object");
        let mut set = |pairs: Vec<(&str, Value)>| {
            for (k, v) in pairs {
                obj.insert(k.into(), v);
            }
        };
        match act {
            Act::Created { by } => set(vec![
                ("action", json!("create_group")),
                ("actor", name(*by)),
                ("actor_id", json!(format!("user{}", people[*by].tg_id))),
                ("title", json!(group.name)),
                ("members", json!([])),
                ("text", json!("")),
            ]),
            Act::Added { by, who } => set(vec![
                ("action", json!("invite_members")),
                ("actor", name(*by)),
                ("actor_id", json!(format!("user{}", people[*by].tg_id))),
                ("members", Value::Array(who.iter().map(|&w| name(w)).collect())),
                ("text", json!("")),
            ]),
            Act::Joined { who, inviter } => set(vec![
                ("action", json!("join_group_by_link")),
                ("actor", name(*who)),
                ("actor_id", json!(format!("user{}", people[*who].tg_id))),
                ("inviter", name(*inviter)),
                ("text", json!("")),
            ]),
            Act::Left { who } => set(vec![
                ("action", json!("remove_members")),
                ("actor", name(*who)),
                ("actor_id", json!(format!("user{}", people[*who].tg_id))),
                ("members", json!([people[*who].name])),
                ("text", json!("")),
            ]),
            Act::Msg { by, text, item } => {
                set(vec![
                    ("type", json!("message")),
                    ("from", name(*by)),
                    ("from_id", json!(format!("user{}", people[*by].tg_id))),
                    ("text", json!(text)),
                ]);
                if let Some(k) = item {
                    let bytes = if *k >= usize::MAX / 2 {
                        other_photo(seed, usize::MAX - k)
                    } else {
                        item_bytes(seed, *k)
                    };
                    let path = format!(
                        "photos/photo_{id}@{:02}-{:02}-{}_{:02}-{:02}-{:02}.jpg",
                        local.day, local.month, local.year, local.hour, local.minute, local.second
                    );
                    std::fs::write(root.join(&path), bytes)?;
                    obj.insert("photo".into(), json!(path));
                    obj.insert("width".into(), json!(64));
                    obj.insert("height".into(), json!(48));
                }
            }
        }
        msgs.push(m);
    }
    let doc = json!({"name": group.name, "type": "private_supergroup", "id": 4_300_000 + g, "messages": msgs});
    let mut text = serde_json::to_string_pretty(&doc).map_err(io::Error::other)?;
    text.push('\n');
    std::fs::write(root.join("result.json"), text)?;
    Ok(folder)
}
