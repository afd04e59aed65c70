//! Reads text line by line with a cap on line length, so a file that is one
//! endless line (binary junk, a corrupt export) costs bounded memory and
//! yields an error naming the line instead of exhausting the machine.

use std::io::{self, BufRead};

/// Lines longer than this keep their first `MAX_LINE` bytes; the rest is
/// skipped and reported. Far above any chat line.
pub const MAX_LINE: usize = 1 << 20;

/// One line as read.
pub struct Line {
    /// 1-based line number.
    pub number: usize,
    /// The text, invalid UTF-8 replaced by U+FFFD.
    pub text: String,
    /// The line held bytes that are not UTF-8.
    pub invalid_utf8: bool,
    /// Bytes dropped because the line exceeded [`MAX_LINE`].
    pub truncated: u64,
}

/// Splits on `\n`, `\r\n` and lone `\r`.
pub struct Lines<R> {
    inner: R,
    number: usize,
    skip_lf: bool,
    done: bool,
    max: usize,
}

impl<R: BufRead> Lines<R> {
    /// Lines of `inner`, capped at [`MAX_LINE`] bytes.
    pub fn new(inner: R) -> Self {
        Self::with_max(inner, MAX_LINE)
    }

    /// Lines of `inner`, capped at `max` bytes.
    pub fn with_max(inner: R, max: usize) -> Self {
        Lines {
            inner,
            number: 0,
            skip_lf: false,
            done: false,
            max,
        }
    }

    /// The next line, `None` at the end.
    pub fn next_line(&mut self) -> io::Result<Option<Line>> {
        if self.done {
            return Ok(None);
        }
        let mut buf = Vec::new();
        let mut truncated = 0u64;
        let mut any = false;
        loop {
            let chunk = match self.inner.fill_buf() {
                Ok(c) => c,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if chunk.is_empty() {
                self.done = true;
                if !any {
                    return Ok(None);
                }
                break;
            }
            let mut start = 0;
            if self.skip_lf {
                self.skip_lf = false;
                if chunk[0] == b'\n' {
                    start = 1;
                }
            }
            let rest = &chunk[start..];
            if rest.is_empty() {
                self.inner.consume(start);
                continue;
            }
            any = true;
            let end = rest.iter().position(|&b| b == b'\n' || b == b'\r');
            let take = end.unwrap_or(rest.len());
            let room = self.max.saturating_sub(buf.len());
            let keep = take.min(room);
            buf.extend_from_slice(&rest[..keep]);
            truncated += (take - keep) as u64;
            match end {
                Some(i) => {
                    self.skip_lf = rest[i] == b'\r';
                    self.inner.consume(start + i + 1);
                    break;
                }
                None => {
                    let n = start + rest.len();
                    self.inner.consume(n);
                }
            }
        }
        self.number += 1;
        // Keep whole characters when a cap cut through one.
        let (text, invalid_utf8) = match String::from_utf8(buf) {
            Ok(s) => (s, false),
            Err(e) => {
                let bytes = e.into_bytes();
                let valid_up_to = std::str::from_utf8(&bytes)
                    .map_err(|e| e.valid_up_to())
                    .err()
                    .unwrap_or(bytes.len());
                let cut_tail = truncated > 0
                    && bytes.len() - valid_up_to < 4
                    && std::str::from_utf8(&bytes[..valid_up_to]).is_ok();
                if cut_tail {
                    (String::from_utf8_lossy(&bytes[..valid_up_to]).into_owned(), false)
                } else {
                    (String::from_utf8_lossy(&bytes).into_owned(), true)
                }
            }
        };
        Ok(Some(Line {
            number: self.number,
            text,
            invalid_utf8,
            truncated,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endings_and_caps() {
        let mut l = Lines::with_max(io::BufReader::with_capacity(3, &b"ab\r\ncd\ref\n\nxxxxxxxx\xff"[..]), 4);
        let mut got = vec![];
        while let Some(line) = l.next_line().unwrap() {
            got.push((line.number, line.text, line.truncated));
        }
        assert_eq!(
            got,
            vec![
                (1, "ab".into(), 0),
                (2, "cd".into(), 0),
                (3, "ef".into(), 0),
                (4, "".into(), 0),
                (5, "xxxx".into(), 5)
            ]
        );
    }
}
