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
        let zeros = "0".repeat(number.national().zeros() as usize);
        let national = format!("{zeros}{}", number.national().value());
        let e164 = format!("+{code}{national}");
        let mut valid = phonenumber::is_valid(&number);
        let mut region = if valid {
            number.country().id().map(|id| id.as_ref().to_string())
        } else {
            None
        };
        if region.is_none() {
            // Shared calling codes: the crate checks the national number
            // without its leading zero against each region and so refuses
            // valid Italian landlines (+39 02…, +39 06…). Try each region.
            if let Some(r) = region_by_plan(code, &national) {
                valid = true;
                region = Some(r);
            }
        }
        if region.is_none() && code == 52 && national.len() == 11 && national.starts_with('1') {
            // Mexico's mobile numbers carried a "1" after +52 until 2019: an
            // old format whose country is still certain (the number is not
            // valid under today's plan, and stays marked so).
            let today = format!("+52{}", &national[1..]);
            if phonenumber::parse(None, &today).is_ok_and(|n| phonenumber::is_valid(&n)) {
                region = Some("MX".into());
            }
        }
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
        region: None,
        valid: false,
        calling_code: code,
    })
}

/// The region among those sharing `code` whose numbering plan has
/// `national` (with its leading zeros) as a number of a known type.
fn region_by_plan(code: u16, national: &str) -> Option<String> {
    let regions = DATABASE.region(&code)?;
    let fits = |id: &str| {
        let meta = DATABASE.by_id(id)?;
        if let Some(lead) = meta.leading_digits() {
            if lead.find(national).is_none_or(|m| m.start() != 0) {
                return None;
            }
        }
        let d = meta.descriptors();
        let general = d.general().is_match(national);
        let typed = [
            d.fixed_line(),
            d.mobile(),
            d.toll_free(),
            d.premium_rate(),
            d.shared_cost(),
            d.personal_number(),
            d.voip(),
            d.pager(),
            d.uan(),
            d.voicemail(),
        ]
        .into_iter()
        .flatten()
        .any(|t| t.is_match(national));
        (general && typed).then(|| id.to_string())
    };
    // Regions with a leading-digits rule are the specific ones (the Vatican
    // within +39): try them first, then the main country.
    let (specific, rest): (Vec<&str>, Vec<&str>) = regions
        .iter()
        .copied()
        .filter(|r| *r != "001")
        .partition(|r| DATABASE.by_id(*r).is_some_and(|m| m.leading_digits().is_some()));
    specific.into_iter().chain(rest).find_map(fits)
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
        // Italian landlines under the calling code Italy shares with the Vatican.
        let p = parse("+39 02 1234 5678", false).unwrap();
        assert_eq!(
            (p.e164.as_str(), p.region.as_deref(), p.valid),
            ("+390212345678", Some("IT"), true)
        );
        let p = parse("+39 06 4881 2345", false).unwrap();
        assert_eq!((p.region.as_deref(), p.valid), (Some("IT"), true));
        // Invalid numbers get no country.
        let p = parse("+34 71234567", false).unwrap();
        assert_eq!((p.region.as_deref(), p.valid), (None, false));
        assert!(looks_like_phone("\u{202A}+49 1512 3456789\u{202C}"));
        assert!(!looks_like_phone("Anna 2"));
    }
}
