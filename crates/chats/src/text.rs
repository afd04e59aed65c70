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

/// Bytes `c` takes in [`normalize`]'s output.
fn normalized_len(c: char) -> usize {
    match c {
        c if is_invisible(c) => 0,
        '\u{00A0}' | '\u{2007}' | '\u{2009}' | '\u{200A}' | '\u{202F}' | '\u{3000}' | '\u{2010}' | '\u{2011}' => 1,
        '\r' => 0,
        c => c.len_utf8(),
    }
}

/// The byte offset in `raw` matching byte `norm_off` of `normalize(raw)`:
/// just after the character of `raw` that wrote the normalised byte before
/// `norm_off`, so invisible characters that follow it stay on the right.
pub fn raw_offset(raw: &str, norm_off: usize) -> usize {
    if norm_off == 0 {
        return 0;
    }
    let mut n = 0;
    for (i, c) in raw.char_indices() {
        let l = normalized_len(c);
        n += l;
        if l > 0 && n >= norm_off {
            return i + c.len_utf8();
        }
    }
    raw.len()
}

/// A name label without the bidirectional and zero-width marks WhatsApp
/// wraps names and numbers in; everything else as written.
pub fn strip_invisible(s: &str) -> String {
    s.chars().filter(|c| !is_invisible(*c) && *c != '\r').collect()
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
        let raw = "[1/2/20,\u{202F}9:05] \u{202A}+44\u{202C}: \u{200E}x";
        let norm = normalize(raw);
        let i = norm.find(": ").unwrap();
        assert_eq!(&raw[raw_offset(raw, i + 2)..], "\u{200E}x");
        assert_eq!(&raw[..raw_offset(raw, i)], "[1/2/20,\u{202F}9:05] \u{202A}+44");
        assert_eq!(fold_quotes("« Été » “x” ’"), "\" Été \" \"x\" '");
    }
}
