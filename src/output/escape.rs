//! Terminal safety: every human-readable string is shown with its control characters, DEL, C1
//! controls and BiDi overrides as visible escapes; a server's string is one line.

use std::borrow::Cow;

/// `text` as one terminal-safe line: secrets redacted, and every character a terminal would
/// act on (newlines included) shown as a visible escape.
pub fn one_line(text: &str) -> Cow<'_, str> {
    shown(text, false)
}

/// Like [`one_line`], but newlines stay: for multi-line text the tool composes itself from
/// parts that are single lines.
pub(super) fn lines(text: &str) -> Cow<'_, str> {
    shown(text, true)
}

fn shown(text: &str, keep_newlines: bool) -> Cow<'_, str> {
    match crate::redact::redact(text) {
        Cow::Borrowed(text) => escape(text, keep_newlines),
        Cow::Owned(text) => Cow::Owned(escape(&text, keep_newlines).into_owned()),
    }
}

/// Whether a terminal could act on `c` or show it misleadingly: C0 controls (ESC starts
/// colour, cursor and OSC sequences; CR overwrites a line), DEL, C1 controls (U+009B is a
/// one-character CSI), Unicode line separators, and the BiDi marks, embeddings, overrides and
/// isolates that reorder what follows them.
fn unsafe_char(c: char) -> bool {
    matches!(c,
        '\0'..='\x1f'
        | '\x7f'..='\u{9f}'
        | '\u{61c}'
        | '\u{200e}'
        | '\u{200f}'
        | '\u{2028}'
        | '\u{2029}'
        | '\u{202a}'..='\u{202e}'
        | '\u{2066}'..='\u{2069}')
}

/// `text` with every [`unsafe_char`] replaced by a visible escape: `\n`, `\r`, `\t`,
/// `\x1b`, `\x7f`, `\u{9b}`, `\u{202e}`. With `keep_newlines`, `\n` stays a newline.
pub fn escape(text: &str, keep_newlines: bool) -> Cow<'_, str> {
    let keep = |c: char| !unsafe_char(c) || (keep_newlines && c == '\n');
    if text.chars().all(keep) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            c if keep(c) => out.push(c),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x80 => out.push_str(&format!("\\x{:02x}", u32::from(c))),
            c => out.push_str(&format!("\\u{{{:x}}}", u32::from(c))),
        }
    }
    Cow::Owned(out)
}
