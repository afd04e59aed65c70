//! Phone numbers as exports show them (`+39 347 123 4567`, bidi-wrapped `+44 7700 900123`,
//! wa.me digits) to E.164 and a country.
//!
//! libphonenumber's metadata (the `phonenumber` crate) decides the region of
//! a valid number. It refuses a region when the number is not valid under
//! today's plan or the calling code is shared (+1, +44, +7…); an export
//! from years ago still holds such numbers, so the fallback keeps the E.164
//! form and names the region only when the calling code belongs to one
//! country alone.

use phonenumber::metadata::DATABASE;
use serde::Serialize;

use crate::text;

/// A phone number read from an export or a link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Phone {
    /// `+` and the digits: country code and national number.
    pub e164: String,
    /// ISO 3166 region of the issuing country, when it can be told.
    pub region: Option<String>,
    /// Whether the number is valid under the current numbering plan.
    pub valid: bool,
    /// The country calling code.
    pub calling_code: u16,
}

/// Whether a display label is a phone number rather than a name: a `+`,
/// then only digits and the separators phones print, 7 to 15 digits.
pub fn looks_like_phone(label: &str) -> bool {
    let s: String = text::normalize(label);
    let s = s.trim();
    let Some(rest) = s.strip_prefix('+') else {
        return false;
    };
    let digits = rest.chars().filter(char::is_ascii_digit).count();
    (7..=15).contains(&digits)
        && rest
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '-' | '(' | ')' | '.'))
}

/// Reads an international number: a leading `+` or `00`, or bare digits
/// when `bare_is_international` (wa.me and t.me links carry no `+`).
/// Returns `None` for text that is not a plausible number.
pub fn parse(s: &str, bare_is_international: bool) -> Option<Phone> {
    let norm = text::normalize(s);
    let t = norm.trim();
    let digits_part = if let Some(r) = t.strip_prefix('+') {
        r
    } else if let Some(r) = t.strip_prefix("00") {
        r
    } else if bare_is_international && t.starts_with(|c: char| c.is_ascii_digit()) {
        t
    } else {
        return None;
    };
    if !digits_part
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '-' | '(' | ')' | '.' | '/'))
    {
        return None;
    }
    let digits: String = digits_part.chars().filter(char::is_ascii_digit).collect();
    if !(7..=15).contains(&digits.len()) || digits.starts_with('0') {
        return None;
    }
    let plus = format!("+{digits}");
    if let Ok(number) = phonenumber::parse(None, &plus) {
        let code = number.code().value();
        let valid = phonenumber::is_valid(&number);
        let national = number.national().value();
        let e164 = format!("+{code}{}{national}", "0".repeat(number.national().zeros() as usize));
        let region = if valid {
            number.country().id().map(|id| id.as_ref().to_string())
        } else {
            None
        }
        .or_else(|| sole_region(code));
        return Some(Phone {
            e164,
            region,
            valid,
            calling_code: code,
        });
    }
    // The metadata rejects it (an old plan, an unassigned range): keep the
    // digits and read the calling code off the front ourselves.
    let (code, _) = (1..=3).filter_map(|n| digits.get(..n)).find_map(|p| {
        let code: u16 = p.parse().ok()?;
        DATABASE.region(&code).map(|r| (code, r))
    })?;
    Some(Phone {
        e164: plus,
        region: sole_region(code),
        valid: false,
        calling_code: code,
    })
}

/// The one region a calling code belongs to, or `None` when it is shared
/// (+1 NANP, +44 with the Crown dependencies, +7, +39 with the Vatican…)
/// and a human must decide from other evidence.
fn sole_region(code: u16) -> Option<String> {
    let regions = DATABASE.region(&code)?;
    match regions.as_slice() {
        [one] if *one != "001" => Some(one.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions() {
        let p = parse("\u{202A}+39 347 123 4567\u{202C}", false).unwrap();
        assert_eq!(
            (p.e164.as_str(), p.region.as_deref(), p.valid),
            ("+393471234567", Some("IT"), true)
        );
        let p = parse("+44 7700 900123", false).unwrap();
        assert_eq!((p.e164.as_str(), p.region.as_deref()), ("+447700900123", None));
        let p = parse("+1 415 555 0148", false).unwrap();
        assert_eq!(p.region.as_deref(), Some("US"));
        let p = parse("393471234567", true).unwrap();
        assert_eq!(p.e164, "+393471234567");
        let p = parse("+52 1 55 1234 5678", false).unwrap();
        assert_eq!(p.region.as_deref(), Some("MX"));
        assert!(parse("393471234567", false).is_none());
        assert!(parse("+12", false).is_none());
        assert!(looks_like_phone("\u{202A}+49 1512 3456789\u{202C}"));
        assert!(!looks_like_phone("Anna 2"));
    }
}
