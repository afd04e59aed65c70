//! WhatsApp's localised notices and markers, as data.
//!
//! Notices are matched whole against templates: `{A}` actor, `{T}` targets
//! (a list), `{V}` new value, `{O}` old value, `{*}` any tail (the "Tap to
//! learn more." WhatsApp appends in some versions). Templates are tried
//! longest literal first so "A added you" wins over "A added B", and name
//! captures may not hold `": "` so a message such as `Ann: Bob left` is
//! never read as a notice. The generator renders the same templates, with
//! the wording variants of different app versions.

use std::sync::OnceLock;

use crate::model::{EventType, Media, YOU};
use crate::text;

/// One wording of a notice.
pub struct Phrase {
    pub lang: &'static str,
    pub event: EventType,
    pub template: &'static str,
    /// The actor is the exporting phone's owner.
    pub you_actor: bool,
    /// The (only) target is the exporting phone's owner.
    pub you_target: bool,
}

const fn p(lang: &'static str, event: EventType, template: &'static str) -> Phrase {
    Phrase {
        lang,
        event,
        template,
        you_actor: false,
        you_target: false,
    }
}
const fn ya(lang: &'static str, event: EventType, template: &'static str) -> Phrase {
    Phrase {
        lang,
        event,
        template,
        you_actor: true,
        you_target: false,
    }
}
const fn yt(lang: &'static str, event: EventType, template: &'static str) -> Phrase {
    Phrase {
        lang,
        event,
        template,
        you_actor: false,
        you_target: true,
    }
}

use EventType::*;

/// Every notice wording known, all languages.
pub static PHRASES: &[Phrase] = &[
    // English
    p("en", E2eNotice, "Messages and calls are end-to-end encrypted.{*}"),
    p(
        "en",
        E2eNotice,
        "Messages to this group are now secured with end-to-end encryption.{*}",
    ),
    p("en", GroupCreated, "{A} created group \"{V}\""),
    p("en", GroupCreated, "{A} created this group"),
    yt("en", MemberAdded, "{A} added you"),
    yt("en", MemberAdded, "You were added"),
    p("en", MemberAdded, "{A} added {T}"),
    p("en", MemberJoinedViaLink, "{T} joined using this group's invite link"),
    p("en", MemberLeft, "{A} left"),
    yt("en", MemberRemoved, "{A} removed you"),
    p("en", MemberRemoved, "{A} removed {T}"),
    p("en", SubjectChanged, "{A} changed the subject from \"{O}\" to \"{V}\""),
    p(
        "en",
        SubjectChanged,
        "{A} changed the group name from \"{O}\" to \"{V}\"",
    ),
    p("en", SubjectChanged, "{A} changed the subject to \"{V}\""),
    p("en", SubjectChanged, "{A} changed the group name to \"{V}\""),
    p("en", IconChanged, "{A} changed this group's icon"),
    p("en", DescriptionChanged, "{A} changed the group description"),
    p("en", SecurityCodeChanged, "Your security code with {T} changed.{*}"),
    p("en", SecurityCodeChanged, "{T}'s security code changed.{*}"),
    p(
        "en",
        NumberChanged,
        "{A} changed their phone number to a new number.{*}",
    ),
    p("en", NumberChanged, "{O} changed to {V}"),
    p("en", MessageDeleted, "This message was deleted{*}"),
    ya("en", MessageDeleted, "You deleted this message{*}"),
    p("en", MessagePinned, "{A} pinned a message"),
    // Italian
    p(
        "it",
        E2eNotice,
        "I messaggi e le chiamate sono crittografati end-to-end.{*}",
    ),
    p(
        "it",
        E2eNotice,
        "I messaggi inviati a questo gruppo sono ora protetti con la crittografia end-to-end.{*}",
    ),
    p("it", GroupCreated, "{A} ha creato il gruppo \"{V}\""),
    ya("it", GroupCreated, "Hai creato il gruppo \"{V}\""),
    yt("it", MemberAdded, "{A} ti ha aggiunto"),
    ya("it", MemberAdded, "Hai aggiunto {T}"),
    p("it", MemberAdded, "{A} ha aggiunto {T}"),
    p(
        "it",
        MemberJoinedViaLink,
        "{T} si è unito tramite il link di invito al gruppo",
    ),
    p(
        "it",
        MemberJoinedViaLink,
        "{T} è entrato usando il link d'invito al gruppo",
    ),
    yt(
        "it",
        MemberJoinedViaLink,
        "Ti sei unito tramite il link di invito al gruppo",
    ),
    p("it", MemberLeft, "{A} è uscito"),
    p("it", MemberLeft, "{A} ha abbandonato"),
    p("it", MemberLeft, "{A} ha lasciato il gruppo"),
    ya("it", MemberLeft, "Sei uscito"),
    yt("it", MemberRemoved, "{A} ti ha rimosso"),
    ya("it", MemberRemoved, "Hai rimosso {T}"),
    p("it", MemberRemoved, "{A} ha rimosso {T}"),
    p("it", SubjectChanged, "{A} ha cambiato l'oggetto da \"{O}\" a \"{V}\""),
    p("it", SubjectChanged, "{A} ha modificato l'oggetto da \"{O}\" a \"{V}\""),
    p("it", SubjectChanged, "{A} ha cambiato l'oggetto in \"{V}\""),
    p("it", IconChanged, "{A} ha cambiato l'immagine del gruppo"),
    p("it", DescriptionChanged, "{A} ha cambiato la descrizione del gruppo"),
    p(
        "it",
        SecurityCodeChanged,
        "Il tuo codice di sicurezza con {T} è cambiato.{*}",
    ),
    p(
        "it",
        SecurityCodeChanged,
        "Il codice di sicurezza di {T} è cambiato.{*}",
    ),
    p("it", NumberChanged, "{A} ha cambiato il suo numero di telefono.{*}"),
    p("it", NumberChanged, "{O} ha cambiato numero in {V}"),
    p("it", MessageDeleted, "Questo messaggio è stato eliminato{*}"),
    ya("it", MessageDeleted, "Hai eliminato questo messaggio{*}"),
    // Spanish
    p(
        "es",
        E2eNotice,
        "Los mensajes y las llamadas están cifrados de extremo a extremo.{*}",
    ),
    p("es", GroupCreated, "{A} creó el grupo \"{V}\""),
    ya("es", GroupCreated, "Creaste el grupo \"{V}\""),
    yt("es", MemberAdded, "{A} te añadió"),
    yt("es", MemberAdded, "Se te añadió al grupo."),
    ya("es", MemberAdded, "Añadiste a {T}"),
    p("es", MemberAdded, "{A} añadió a {T}"),
    p(
        "es",
        MemberJoinedViaLink,
        "{T} se unió usando el enlace de invitación de este grupo",
    ),
    yt(
        "es",
        MemberJoinedViaLink,
        "Te uniste usando el enlace de invitación de este grupo",
    ),
    yt(
        "es",
        MemberJoinedViaLink,
        "Te uniste mediante el enlace de invitación de este grupo",
    ),
    p("es", MemberLeft, "{A} salió del grupo"),
    p("es", MemberLeft, "{A} salió"),
    ya("es", MemberLeft, "Saliste del grupo"),
    yt("es", MemberRemoved, "{A} te eliminó"),
    ya("es", MemberRemoved, "Eliminaste a {T}"),
    p("es", MemberRemoved, "{A} eliminó a {T}"),
    p("es", SubjectChanged, "{A} cambió el asunto de \"{O}\" a \"{V}\""),
    p(
        "es",
        SubjectChanged,
        "{A} cambió el nombre del grupo de \"{O}\" a \"{V}\"",
    ),
    p("es", SubjectChanged, "{A} cambió el asunto a \"{V}\""),
    p("es", IconChanged, "{A} cambió el ícono de este grupo"),
    p("es", IconChanged, "{A} cambió la imagen de este grupo"),
    p("es", DescriptionChanged, "{A} cambió la descripción del grupo"),
    p("es", SecurityCodeChanged, "Cambió tu código de seguridad con {T}.{*}"),
    p("es", SecurityCodeChanged, "El código de seguridad de {T} cambió.{*}"),
    p("es", NumberChanged, "{A} cambió su número de teléfono.{*}"),
    p("es", NumberChanged, "{O} cambió su número a {V}"),
    p("es", MessageDeleted, "Se eliminó este mensaje{*}"),
    p("es", MessageDeleted, "Este mensaje fue eliminado{*}"),
    ya("es", MessageDeleted, "Eliminaste este mensaje{*}"),
    // Portuguese (Brazil)
    p(
        "pt",
        E2eNotice,
        "As mensagens e as ligações são protegidas com a criptografia de ponta a ponta.{*}",
    ),
    p(
        "pt",
        E2eNotice,
        "As mensagens e as chamadas são protegidas com a criptografia de ponta a ponta.{*}",
    ),
    p("pt", GroupCreated, "{A} criou o grupo \"{V}\""),
    yt("pt", MemberAdded, "{A} adicionou você"),
    p("pt", MemberAdded, "{A} adicionou {T}"),
    p(
        "pt",
        MemberJoinedViaLink,
        "{T} entrou usando o link de convite deste grupo",
    ),
    p("pt", MemberLeft, "{A} saiu"),
    yt("pt", MemberRemoved, "{A} removeu você"),
    p("pt", MemberRemoved, "{A} removeu {T}"),
    p(
        "pt",
        SubjectChanged,
        "{A} mudou o nome do grupo de \"{O}\" para \"{V}\"",
    ),
    p("pt", SubjectChanged, "{A} mudou o nome do grupo para \"{V}\""),
    p("pt", IconChanged, "{A} mudou a imagem deste grupo"),
    p("pt", DescriptionChanged, "{A} mudou a descrição do grupo"),
    p("pt", SecurityCodeChanged, "Seu código de segurança com {T} mudou.{*}"),
    p("pt", NumberChanged, "{A} mudou seu número de telefone.{*}"),
    p("pt", NumberChanged, "{O} mudou para {V}"),
    p("pt", MessageDeleted, "Mensagem apagada{*}"),
    p("pt", MessageDeleted, "Esta mensagem foi apagada{*}"),
    ya("pt", MessageDeleted, "Você apagou esta mensagem{*}"),
    // German
    p(
        "de",
        E2eNotice,
        "Nachrichten und Anrufe sind Ende-zu-Ende-verschlüsselt.{*}",
    ),
    p("de", GroupCreated, "{A} hat die Gruppe \"{V}\" erstellt"),
    ya("de", GroupCreated, "Du hast die Gruppe \"{V}\" erstellt"),
    yt("de", MemberAdded, "{A} hat dich hinzugefügt"),
    ya("de", MemberAdded, "Du hast {T} hinzugefügt"),
    p("de", MemberAdded, "{A} hat {T} hinzugefügt"),
    p(
        "de",
        MemberJoinedViaLink,
        "{T} ist über den Einladungslink dieser Gruppe beigetreten",
    ),
    yt(
        "de",
        MemberJoinedViaLink,
        "Du bist über den Einladungslink dieser Gruppe beigetreten",
    ),
    p("de", MemberLeft, "{A} hat die Gruppe verlassen"),
    ya("de", MemberLeft, "Du hast die Gruppe verlassen"),
    yt("de", MemberRemoved, "{A} hat dich entfernt"),
    ya("de", MemberRemoved, "Du hast {T} entfernt"),
    p("de", MemberRemoved, "{A} hat {T} entfernt"),
    p(
        "de",
        SubjectChanged,
        "{A} hat den Betreff von \"{O}\" zu \"{V}\" geändert",
    ),
    p(
        "de",
        SubjectChanged,
        "{A} hat den Gruppennamen von \"{O}\" zu \"{V}\" geändert",
    ),
    p("de", SubjectChanged, "{A} hat den Betreff zu \"{V}\" geändert"),
    p("de", IconChanged, "{A} hat das Gruppenbild geändert"),
    p("de", DescriptionChanged, "{A} hat die Gruppenbeschreibung geändert"),
    p(
        "de",
        SecurityCodeChanged,
        "Deine Sicherheitsnummer für {T} hat sich geändert.{*}",
    ),
    p("de", NumberChanged, "{A} hat die Telefonnummer geändert.{*}"),
    p("de", NumberChanged, "{O} hat zu {V} gewechselt"),
    p("de", MessageDeleted, "Diese Nachricht wurde gelöscht{*}"),
    ya("de", MessageDeleted, "Du hast diese Nachricht gelöscht{*}"),
    // French
    p(
        "fr",
        E2eNotice,
        "Les messages et les appels sont chiffrés de bout en bout.{*}",
    ),
    p("fr", GroupCreated, "{A} a créé le groupe « {V} »"),
    ya("fr", GroupCreated, "Vous avez créé le groupe « {V} »"),
    yt("fr", MemberAdded, "{A} vous a ajouté"),
    ya("fr", MemberAdded, "Vous avez ajouté {T}"),
    p("fr", MemberAdded, "{A} a ajouté {T}"),
    p(
        "fr",
        MemberJoinedViaLink,
        "{T} a rejoint le groupe via le lien d'invitation",
    ),
    yt(
        "fr",
        MemberJoinedViaLink,
        "Vous avez rejoint le groupe via le lien d'invitation",
    ),
    p("fr", MemberLeft, "{A} est parti(e)"),
    p("fr", MemberLeft, "{A} est parti"),
    p("fr", MemberLeft, "{A} est partie"),
    ya("fr", MemberLeft, "Vous êtes parti(e)"),
    yt("fr", MemberRemoved, "{A} vous a retiré"),
    ya("fr", MemberRemoved, "Vous avez retiré {T}"),
    p("fr", MemberRemoved, "{A} a retiré {T}"),
    p("fr", SubjectChanged, "{A} a modifié le sujet de « {O} » en « {V} »"),
    p("fr", SubjectChanged, "{A} a modifié le sujet en « {V} »"),
    p("fr", IconChanged, "{A} a changé l'icône de ce groupe"),
    p("fr", DescriptionChanged, "{A} a modifié la description du groupe"),
    p(
        "fr",
        SecurityCodeChanged,
        "Votre code de sécurité avec {T} a changé.{*}",
    ),
    p("fr", NumberChanged, "{A} a changé de numéro de téléphone.{*}"),
    p("fr", NumberChanged, "{O} a changé de numéro pour {V}"),
    p("fr", MessageDeleted, "Ce message a été supprimé{*}"),
    ya("fr", MessageDeleted, "Vous avez supprimé ce message{*}"),
    // Second-person subject, icon and description changes.
    ya("it", SubjectChanged, "Hai cambiato l'oggetto da \"{O}\" a \"{V}\""),
    ya("it", SubjectChanged, "Hai modificato l'oggetto da \"{O}\" a \"{V}\""),
    ya("it", SubjectChanged, "Hai cambiato l'oggetto in \"{V}\""),
    ya("it", IconChanged, "Hai cambiato l'immagine del gruppo"),
    ya("it", DescriptionChanged, "Hai cambiato la descrizione del gruppo"),
    ya("es", SubjectChanged, "Cambiaste el asunto de \"{O}\" a \"{V}\""),
    ya(
        "es",
        SubjectChanged,
        "Cambiaste el nombre del grupo de \"{O}\" a \"{V}\"",
    ),
    ya("es", SubjectChanged, "Cambiaste el asunto a \"{V}\""),
    ya("es", IconChanged, "Cambiaste el ícono de este grupo"),
    ya("es", IconChanged, "Cambiaste la imagen de este grupo"),
    ya("es", DescriptionChanged, "Cambiaste la descripción del grupo"),
    ya(
        "de",
        SubjectChanged,
        "Du hast den Betreff von \"{O}\" zu \"{V}\" geändert",
    ),
    ya(
        "de",
        SubjectChanged,
        "Du hast den Gruppennamen von \"{O}\" zu \"{V}\" geändert",
    ),
    ya("de", SubjectChanged, "Du hast den Betreff zu \"{V}\" geändert"),
    ya("de", IconChanged, "Du hast das Gruppenbild geändert"),
    ya("de", DescriptionChanged, "Du hast die Gruppenbeschreibung geändert"),
    ya("fr", SubjectChanged, "Vous avez modifié le sujet de « {O} » en « {V} »"),
    ya("fr", SubjectChanged, "Vous avez modifié le sujet en « {V} »"),
    ya("fr", IconChanged, "Vous avez changé l'icône de ce groupe"),
    ya("fr", DescriptionChanged, "Vous avez modifié la description du groupe"),
];

/// Second-person words that stand for the exporter where a name would be.
const YOU_WORDS: &[&str] = &["You", "you", "Você", "você", "Vous", "vous", "Du", "du"];

/// List separators in multi-target notices ("A added B, C and D").
const AND_WORDS: &[&str] = &[" and ", " e ", " y ", " und ", " et "];

#[derive(Debug)]
enum Seg {
    Lit(String),
    Actor,
    Targets,
    Value,
    Old,
    Any,
}

struct Compiled {
    phrase: &'static Phrase,
    segs: Vec<Seg>,
    literal_len: usize,
}

fn compiled() -> &'static [Compiled] {
    static C: OnceLock<Vec<Compiled>> = OnceLock::new();
    C.get_or_init(|| {
        let mut out: Vec<Compiled> = PHRASES
            .iter()
            .map(|phrase| {
                let t = text::fold_quotes(phrase.template);
                let mut segs = Vec::new();
                let mut rest = t.as_str();
                while let Some(i) = rest.find('{') {
                    if i > 0 {
                        segs.push(Seg::Lit(rest[..i].to_string()));
                    }
                    let close = rest[i..].find('}').expect("closed placeholder") + i;
                    segs.push(match &rest[i + 1..close] {
                        "A" => Seg::Actor,
                        "T" => Seg::Targets,
                        "V" => Seg::Value,
                        "O" => Seg::Old,
                        _ => Seg::Any,
                    });
                    rest = &rest[close + 1..];
                }
                if !rest.is_empty() {
                    segs.push(Seg::Lit(rest.to_string()));
                }
                let literal_len = segs.iter().map(|s| if let Seg::Lit(l) = s { l.len() } else { 0 }).sum();
                Compiled {
                    phrase,
                    segs,
                    literal_len,
                }
            })
            .collect();
        out.sort_by_key(|c| std::cmp::Reverse(c.literal_len));
        out
    })
}

/// A notice recognised in a line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub lang: &'static str,
    pub event: EventType,
    pub actor: Option<String>,
    pub targets: Vec<String>,
    pub value: Option<String>,
    pub old_value: Option<String>,
    /// The target list as written, before it was split on `, ` and "and":
    /// a caller that knows the participants re-splits it with
    /// [`split_targets_known`] so "Mum and Dad" stays one person.
    pub targets_raw: Option<String>,
}

/// Longest body tried as a notice. Notices are a name or two and a group
/// name around a fixed phrase; the matcher backtracks over every position of
/// a name, so a long body (lines go up to 1 MiB) is never a notice.
pub const MAX_NOTICE: usize = 512;

/// Recognises a whole notice (normalised text) in any language.
pub fn match_notice(s: &str) -> Option<Notice> {
    if s.len() > MAX_NOTICE {
        return None;
    }
    let folded = text::fold_quotes(s.trim_end());
    for c in compiled() {
        if let Some(caps) = match_segs(&c.segs, &folded) {
            let mut n = Notice {
                lang: c.phrase.lang,
                event: c.phrase.event,
                actor: None,
                targets: vec![],
                value: None,
                old_value: None,
                targets_raw: None,
            };
            let mut ok = true;
            for (seg, cap) in caps {
                match seg {
                    Seg::Actor => {
                        ok &= plausible_name(cap);
                        n.actor = Some(you_or(cap));
                    }
                    Seg::Targets => {
                        ok &= plausible_name(cap);
                        n.targets = split_targets(cap);
                        n.targets_raw = Some(cap.to_string());
                    }
                    Seg::Value => n.value = Some(cap.trim().to_string()),
                    Seg::Old => n.old_value = Some(cap.trim().to_string()),
                    _ => {}
                }
            }
            if !ok {
                continue;
            }
            if c.phrase.event == NumberChanged && n.old_value.is_some() {
                // "<old> changed to <new>" is only a notice between two numbers.
                let both = [&n.old_value, &n.value]
                    .iter()
                    .all(|v| v.as_deref().is_some_and(crate::phone::looks_like_phone));
                if !both {
                    continue;
                }
                n.actor = n.old_value.clone();
            }
            if c.phrase.you_actor {
                n.actor = Some(YOU.to_string());
            }
            if c.phrase.you_target {
                n.targets = vec![YOU.to_string()];
            }
            if matches!(n.event, MemberLeft) {
                n.targets = n.actor.iter().cloned().collect();
            }
            return Some(n);
        }
    }
    None
}

fn you_or(s: &str) -> String {
    let s = s.trim();
    if YOU_WORDS.contains(&s) {
        YOU.to_string()
    } else {
        s.to_string()
    }
}

/// Names are short and never hold `": "`: that shape is a message.
fn plausible_name(s: &str) -> bool {
    let s = s.trim();
    !s.is_empty() && s.chars().count() <= 80 && !s.contains(": ") && !s.contains('\n')
}

fn split_targets(s: &str) -> Vec<String> {
    let mut parts = vec![s.to_string()];
    for sep in [", "].iter().chain(AND_WORDS) {
        parts = parts
            .iter()
            .flat_map(|p| p.split(sep).map(str::to_string).collect::<Vec<_>>())
            .collect();
    }
    parts.iter().map(|p| you_or(p)).filter(|p| !p.is_empty()).collect()
}

/// Splits a target list like [`split_targets`], but keeps together the
/// pieces that form a name `known` accepts (a participant saved as
/// "Mum and Dad" or "Smith, J").
pub fn split_targets_known(s: &str, known: impl Fn(&str) -> bool) -> Vec<String> {
    // Pieces and the separators between them, in order.
    let mut pieces: Vec<&str> = Vec::new();
    let mut seps: Vec<&str> = Vec::new();
    let mut rest = s;
    loop {
        let next = [", "]
            .iter()
            .chain(AND_WORDS)
            .filter_map(|sep| rest.find(sep).map(|i| (i, *sep)))
            .min_by_key(|(i, sep)| (*i, std::cmp::Reverse(sep.len())));
        match next {
            Some((i, sep)) => {
                pieces.push(&rest[..i]);
                seps.push(sep);
                rest = &rest[i + sep.len()..];
            }
            None => {
                pieces.push(rest);
                break;
            }
        }
    }
    let mut out = Vec::new();
    let mut i = 0;
    while i < pieces.len() {
        let mut take = i;
        let mut joined = pieces[i].to_string();
        let mut best: Option<(usize, String)> = None;
        for j in i + 1..pieces.len() {
            joined.push_str(seps[j - 1]);
            joined.push_str(pieces[j]);
            if known(joined.trim()) {
                best = Some((j, joined.clone()));
            }
        }
        let name = match best {
            Some((j, name)) => {
                take = j;
                name
            }
            None => pieces[i].to_string(),
        };
        out.push(you_or(&name));
        i = take + 1;
    }
    out.into_iter().filter(|p| !p.is_empty()).collect()
}

fn match_segs<'a>(segs: &'a [Seg], s: &'a str) -> Option<Vec<(&'a Seg, &'a str)>> {
    // Anchored literals first: most templates fail on their first or last word.
    if let Some(Seg::Lit(l)) = segs.first() {
        if !s.starts_with(l.as_str()) {
            return None;
        }
    }
    if let Some(Seg::Lit(l)) = segs.last() {
        if !s.ends_with(l.as_str()) {
            return None;
        }
    }
    let mut caps = Vec::new();
    if go(segs, s, &mut caps) {
        Some(caps)
    } else {
        None
    }
}

fn go<'a>(segs: &'a [Seg], s: &'a str, caps: &mut Vec<(&'a Seg, &'a str)>) -> bool {
    let Some((first, rest)) = segs.split_first() else {
        return s.is_empty();
    };
    match first {
        Seg::Lit(l) => s.strip_prefix(l.as_str()).is_some_and(|r| go(rest, r, caps)),
        Seg::Any if rest.is_empty() => {
            caps.push((first, s));
            true
        }
        cap => {
            // Lazy: the shortest capture that lets the rest match.
            let min = usize::from(!matches!(cap, Seg::Any));
            for (i, _) in s.char_indices().chain(std::iter::once((s.len(), ' '))) {
                if i < min {
                    continue;
                }
                caps.push((first, &s[..i]));
                if go(rest, &s[i..], caps) {
                    return true;
                }
                caps.pop();
            }
            false
        }
    }
}

/// Renders a template with names filled in (for the generator).
pub fn render(template: &str, actor: &str, targets: &[String], value: &str, old: &str, and_word: &str) -> String {
    let list = match targets {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{}{and_word}{last}", init.join(", ")),
    };
    template
        .replace("{A}", actor)
        .replace("{T}", &list)
        .replace("{V}", value)
        .replace("{O}", old)
        .replace("{*}", "")
}

/// The word for "and" in target lists, per language.
pub fn and_word(lang: &str) -> &'static str {
    match lang {
        "it" | "pt" => " e ",
        "es" => " y ",
        "de" => " und ",
        "fr" => " et ",
        _ => " and ",
    }
}

/// Android's marker after an attached file's name, per language.
pub static ANDROID_ATTACHED: &[(&str, &str)] = &[
    ("en", "(file attached)"),
    ("it", "(file allegato)"),
    ("es", "(archivo adjunto)"),
    ("pt", "(arquivo anexado)"),
    ("de", "(Datei angehängt)"),
    ("fr", "(fichier joint)"),
];

/// Android's body for media left out of the export.
pub static ANDROID_OMITTED: &[(&str, &str)] = &[
    ("en", "<Media omitted>"),
    ("it", "<Media omessi>"),
    ("es", "<Multimedia omitido>"),
    ("pt", "<Mídia oculta>"),
    ("pt", "<Arquivo de mídia oculto>"),
    ("de", "<Medien ausgeschlossen>"),
    ("fr", "<Médias omis>"),
];

/// iOS's label inside `<label: file>`.
pub static IOS_ATTACHED: &[(&str, &str)] = &[
    ("en", "attached"),
    ("it", "allegato"),
    ("es", "adjunto"),
    ("pt", "anexado"),
    ("de", "angehängt"),
    ("fr", "pièce jointe"),
];

/// iOS's "<kind> omitted" bodies, per language.
pub static IOS_OMITTED: &[(&str, Media, &str)] = &[
    ("en", Media::Image, "image omitted"),
    ("en", Media::Video, "video omitted"),
    ("en", Media::Audio, "audio omitted"),
    ("en", Media::Gif, "GIF omitted"),
    ("en", Media::Sticker, "sticker omitted"),
    ("en", Media::Document, "document omitted"),
    ("en", Media::Contact, "Contact card omitted"),
    ("it", Media::Image, "immagine omessa"),
    ("it", Media::Video, "video omesso"),
    ("it", Media::Audio, "audio omesso"),
    ("it", Media::Gif, "GIF omessa"),
    ("it", Media::Sticker, "sticker omesso"),
    ("it", Media::Document, "documento omesso"),
    ("es", Media::Image, "imagen omitida"),
    ("es", Media::Video, "video omitido"),
    ("es", Media::Audio, "audio omitido"),
    ("es", Media::Gif, "GIF omitido"),
    ("es", Media::Sticker, "sticker omitido"),
    ("es", Media::Document, "documento omitido"),
    ("pt", Media::Image, "imagem ocultada"),
    ("pt", Media::Video, "vídeo ocultado"),
    ("pt", Media::Audio, "áudio ocultado"),
    ("pt", Media::Sticker, "figurinha omitida"),
    ("pt", Media::Document, "documento ocultado"),
    ("de", Media::Image, "Bild weggelassen"),
    ("de", Media::Video, "Video weggelassen"),
    ("de", Media::Audio, "Audio weggelassen"),
    ("de", Media::Sticker, "Sticker weggelassen"),
    ("de", Media::Document, "Dokument weggelassen"),
    ("fr", Media::Image, "image absente"),
    ("fr", Media::Video, "vidéo absente"),
    ("fr", Media::Audio, "audio absent"),
    ("fr", Media::Sticker, "autocollant omis"),
    ("fr", Media::Document, "document absent"),
    ("pt", Media::Gif, "GIF ocultado"),
    ("de", Media::Gif, "GIF weggelassen"),
    ("fr", Media::Gif, "GIF absent"),
    ("it", Media::Contact, "scheda contatto omessa"),
    ("es", Media::Contact, "tarjeta de contacto omitida"),
    ("pt", Media::Contact, "cartão de contato omitido"),
    ("de", Media::Contact, "Kontaktkarte weggelassen"),
    ("fr", Media::Contact, "fiche contact absente"),
];

/// The suffix an edited message carries, per language.
pub static EDITED: &[(&str, &str)] = &[
    ("en", "<This message was edited>"),
    ("it", "<Questo messaggio è stato modificato>"),
    ("es", "<Se editó este mensaje.>"),
    ("pt", "<Mensagem editada>"),
    ("de", "<Diese Nachricht wurde bearbeitet.>"),
    ("fr", "<Ce message a été modifié>"),
];

/// Android's chat file name prefix, per language: `<prefix><chat name>.txt`.
pub static FILE_PREFIXES: &[(&str, &str)] = &[
    ("en", "WhatsApp Chat with "),
    ("it", "Chat WhatsApp con "),
    ("es", "Chat de WhatsApp con "),
    ("pt", "Conversa do WhatsApp com "),
    ("de", "WhatsApp-Chat mit "),
    ("de", "WhatsApp Chat mit "),
    ("fr", "Discussion WhatsApp avec "),
    ("en", "WhatsApp Chat - "),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notices() {
        let n = match_notice("Ann added Bob, Carl and Dee").unwrap();
        assert_eq!(
            (n.event, n.actor.as_deref(), n.targets.clone()),
            (
                MemberAdded,
                Some("Ann"),
                vec!["Bob".to_string(), "Carl".into(), "Dee".into()]
            )
        );
        let n = match_notice("Ann added you").unwrap();
        assert_eq!(n.targets, vec![YOU.to_string()]);
        let n = match_notice("You added Bob").unwrap();
        assert_eq!(n.actor.as_deref(), Some(YOU));
        let n = match_notice("Marie a créé le groupe « Famille : été »").unwrap();
        assert_eq!((n.event, n.value.as_deref()), (GroupCreated, Some("Famille : été")));
        assert!(match_notice("Ann: Bob left").is_none());
        let n = match_notice("+44 7700 900123 changed to +44 7700 900456").unwrap();
        assert_eq!((n.event, n.actor.as_deref()), (NumberChanged, Some("+44 7700 900123")));
        assert!(match_notice("Ann changed to Bob").is_none());
        let n = match_notice("Your security code with Bob changed. Tap to learn more.").unwrap();
        assert_eq!(n.targets, vec!["Bob".to_string()]);
    }
}
