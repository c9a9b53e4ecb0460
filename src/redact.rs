//! Every credential value the run holds, and its removal from whatever the tool prints.
//!
//! A server that echoes a request (in an error message, a status document, a job message) can
//! hand a token or password back to us; the tool never knows which string came from where, so
//! the output layer passes every printed string through [`redact`]. Secrets are registered when
//! they are created ([`crate::http::Secret::new`]), so a token generated during the run is
//! covered as soon as it exists.

use std::borrow::Cow;
use std::sync::RwLock;

use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};

/// What a secret is replaced with.
pub const REDACTED: &str = "<redacted>";

/// Secrets shorter than this are not searched for. Replacing a 1-character password would
/// replace that letter everywhere and leave no message readable, and a string that short is as
/// common as a word fragment while protecting nothing (tokens are hundreds of characters, and
/// ArcGIS refuses passwords under 8). At 6 an accidental match is rare enough that masking it
/// costs little.
pub const MIN_LEN: usize = 6;

/// Every printable form of every registered secret, longest first (a longer form may contain
/// a shorter one).
static FORMS: RwLock<Vec<String>> = RwLock::new(Vec::new());

/// Remembers a secret so that it is redacted from all output from now on.
pub fn register(secret: &str) {
    if secret.chars().count() < MIN_LEN {
        return;
    }
    let mut forms = FORMS.write().unwrap_or_else(|e| e.into_inner());
    for form in forms_of(secret) {
        if !forms.contains(&form) {
            forms.push(form);
        }
    }
    forms.sort_by_key(|f| std::cmp::Reverse(f.len()));
}

/// The ways a secret can come back: as sent, percent-encoded (a form or URL echoed back; either
/// case of hex digits), JSON-escaped, XML-escaped.
fn forms_of(secret: &str) -> Vec<String> {
    let form: String = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect();
    let percent = utf8_percent_encode(secret, NON_ALPHANUMERIC).to_string();
    let lower = lower_hex(&percent);
    let json = serde_json::to_string(secret).unwrap_or_default();
    let json = json[1..json.len().saturating_sub(1).max(1)].to_string();
    let xml = quick_xml::escape::escape(secret).into_owned();
    let mut all = vec![secret.to_string(), form, percent, lower, json, xml];
    all.retain(|f| f.chars().count() >= MIN_LEN);
    all.dedup();
    all
}

/// `%2F` → `%2f`, leaving everything else alone.
fn lower_hex(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find('%') {
        out.push_str(&rest[..i]);
        let hex = rest.get(i + 1..i + 3).unwrap_or("");
        out.push('%');
        out.push_str(&hex.to_ascii_lowercase());
        rest = &rest[i + 1 + hex.len()..];
    }
    out.push_str(rest);
    out
}

/// `text` with every registered secret replaced by `<redacted>`.
pub fn redact(text: &str) -> Cow<'_, str> {
    let forms = FORMS.read().unwrap_or_else(|e| e.into_inner());
    let mut text = Cow::Borrowed(text);
    for form in forms.iter() {
        if text.contains(form.as_str()) {
            text = Cow::Owned(text.replace(form.as_str(), REDACTED));
        }
    }
    text
}

/// Redacts every string of a JSON value, keys included.
pub fn redact_json(value: &mut serde_json::Value) {
    use serde_json::Value;
    if FORMS.read().unwrap_or_else(|e| e.into_inner()).is_empty() {
        return;
    }
    match value {
        Value::String(s) => {
            if let Cow::Owned(clean) = redact(s) {
                *s = clean;
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact_json),
        Value::Object(map) => {
            let dirty = map.keys().any(|k| matches!(redact(k), Cow::Owned(_)));
            if dirty {
                let old = std::mem::take(map);
                for (k, mut v) in old {
                    redact_json(&mut v);
                    map.insert(redact(&k).into_owned(), v);
                }
            } else {
                map.values_mut().for_each(redact_json);
            }
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The registry is process-wide: each test uses secrets of its own.

    #[test]
    fn every_form_of_a_secret_is_redacted() {
        register("s3cr&t p@ss/wörd\"x");
        assert_eq!(redact("a s3cr&t p@ss/wörd\"x b"), "a <redacted> b");
        assert_eq!(
            redact("password=s3cr%26t+p%40ss%2Fw%C3%B6rd%22x&f=json"),
            "password=<redacted>&f=json"
        );
        assert_eq!(
            redact("u=s3cr%26t%20p%40ss%2Fw%C3%B6rd%22x"),
            "u=<redacted>"
        );
        assert_eq!(
            redact("u=s3cr%26t%20p%40ss%2fw%c3%b6rd%22x"),
            "u=<redacted>"
        );
        assert_eq!(
            redact(r#"{"echo":"s3cr&t p@ss/wörd\"x"}"#),
            r#"{"echo":"<redacted>"}"#
        );
        assert_eq!(
            redact("<E>s3cr&amp;t p@ss/wörd&quot;x</E>"),
            "<E><redacted></E>"
        );
    }

    #[test]
    fn short_secrets_are_not_searched_for() {
        register("q");
        register("zq9x7");
        assert_eq!(redact("a quiet zq9x7 day"), "a quiet zq9x7 day");
        register("zq9x7w");
        assert_eq!(redact("a quiet zq9x7w day"), "a quiet <redacted> day");
    }

    #[test]
    fn json_strings_and_keys_are_redacted() {
        register("TOKEN-json-77");
        let mut value = serde_json::json!({
            "a": ["x TOKEN-json-77 y", 1, null],
            "TOKEN-json-77": {"b": "TOKEN-json-77"},
        });
        redact_json(&mut value);
        assert_eq!(
            value,
            serde_json::json!({"a": ["x <redacted> y", 1, null], "<redacted>": {"b": "<redacted>"}})
        );
    }

    #[test]
    fn lower_hex_only_touches_escapes() {
        assert_eq!(lower_hex("A%2FB%C3%B6%"), "A%2fB%c3%b6%");
    }
}
