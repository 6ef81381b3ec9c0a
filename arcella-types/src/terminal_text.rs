//! Text from a guest, made safe to show on a terminal.
//!
//! A guest's log records, error messages and function names end up on the
//! operator's terminal. A control character in them would be acted on, not
//! shown: an escape sequence clears, recolours or retitles the terminal, and
//! a carriage return or a newline forges a line the host never wrote.
//! Through [`escape`] each shows as a visible escape (`\u{1b}`, `\n`) and the
//! text stays one inert line; printable Unicode shows as written.
//!
//! A backslash is shown as it is, so that escaping twice (a guest's message
//! inside a host error inside a report) reads the same as escaping once. A
//! guest may therefore write `\u{1b}` literally; it looks like an escaped
//! ESC and is as inert.

use std::fmt;

/// `text` as one line, its control characters shown as escapes.
pub fn escape(text: &str) -> Escaped<'_> {
    Escaped(text)
}

/// Text that displays with its control characters escaped; see [`escape`].
#[derive(Debug, Clone, Copy)]
pub struct Escaped<'a>(&'a str);

impl fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rest = self.0;
        while let Some((at, c)) = rest.char_indices().find(|&(_, c)| acts_on_terminal(c)) {
            f.write_str(&rest[..at])?;
            match c {
                '\n' => f.write_str("\\n")?,
                '\r' => f.write_str("\\r")?,
                '\t' => f.write_str("\\t")?,
                c => write!(f, "\\u{{{:x}}}", u32::from(c))?,
            }
            rest = &rest[at + c.len_utf8()..];
        }
        f.write_str(rest)
    }
}

/// Whether a terminal would act on `c` rather than print it: the C0 and C1
/// controls and DEL, line and paragraph separators, and the bidirectional
/// formatting characters that reorder the text around them on screen.
fn acts_on_terminal(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061c}'
                | '\u{200e}'
                | '\u{200f}'
                | '\u{2028}'
                | '\u{2029}'
                | '\u{202a}'..='\u{202e}'
                | '\u{2066}'..='\u{2069}'
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_show_as_escapes_and_printable_text_as_written() {
        assert_eq!(
            escape("\u{1b}[31mred\u{7}\r\n\tnext\u{7f}\u{9b}").to_string(),
            "\\u{1b}[31mred\\u{7}\\r\\n\\tnext\\u{7f}\\u{9b}"
        );
        assert_eq!(
            escape("abc\u{202e}def\u{2028}").to_string(),
            "abc\\u{202e}def\\u{2028}"
        );
        let printable = "héllo wörld ✓ 日本 🦀 \\ \"q\" 'a'";
        assert_eq!(escape(printable).to_string(), printable);
    }

    #[test]
    fn escaping_twice_reads_as_escaping_once() {
        let once = escape("\u{1b}[2J\n").to_string();
        assert_eq!(escape(&once).to_string(), once);
    }
}
