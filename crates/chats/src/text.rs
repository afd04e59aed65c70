//! Invisible and look-alike characters that WhatsApp and copy-paste put into
//! exports. Matching runs on a normalised copy so one pattern fits every app
//! version; the characters carry no meaning an examiner needs.

/// True for the bidirectional controls and zero-width characters exports
/// scatter around names, numbers and markers.
pub fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}' | '\u{00AD}'
    )
}

/// The normalised copy of a line: invisible characters dropped, Unicode
/// spaces made ASCII spaces, the non-breaking hyphen a hyphen, trailing
/// carriage returns removed.
pub fn normalize(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    for c in line.chars() {
        match c {
            c if is_invisible(c) => {}
            '\u{00A0}' | '\u{2007}' | '\u{2009}' | '\u{200A}' | '\u{202F}' | '\u{3000}' => out.push(' '),
            '\u{2010}' | '\u{2011}' => out.push('-'),
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}

/// Straight quotes for curly and French ones, so phrase tables need one
/// spelling (Android writes `"X"`, iOS `“X”`, French `« X »`).
pub fn fold_quotes(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '“' | '”' | '„' | '«' | '»' => '"',
            '‘' | '’' => '\'',
            c => c,
        })
        .collect()
}

/// Whether `raw` started with a left-to-right mark (iOS puts one before
/// system notices and attachment markers).
pub fn starts_with_lrm(raw: &str) -> bool {
    raw.trim_start_matches(' ').starts_with('\u{200E}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_marks_and_spaces() {
        assert_eq!(
            normalize("\u{FEFF}[1/2/20,\u{202F}9:05\u{202F}PM] \u{202A}+44\u{00A0}7700\u{2011}900\u{202C}\r"),
            "[1/2/20, 9:05 PM] +44 7700-900"
        );
        assert_eq!(fold_quotes("« Été » “x” ’"), "\" Été \" \"x\" '");
    }
}
