//! Helpers for the unit tests: answers to feed parsers, and arbitrary JSON.

use proptest::prelude::*;
use serde_json::Value;

use crate::http::{ClientOptions, HttpClient, Response, TlsOptions, TokenPlacement};

/// An answer as the HTTP layer hands it to a platform.
pub fn response(status: u16, body: &[u8]) -> Response {
    Response {
        method: reqwest::Method::GET,
        status,
        url: reqwest::Url::parse("https://platform.invalid/a/b").unwrap(),
        headers: reqwest::header::HeaderMap::new(),
        body: body.to_vec(),
    }
}

/// A client for `base` that sends nothing in these tests (skipping the system roots keeps each
/// case fast).
pub fn client(base: &reqwest::Url) -> HttpClient {
    HttpClient::new(ClientOptions {
        base: base.clone(),
        tls: TlsOptions {
            insecure: true,
            ..TlsOptions::default()
        },
        token: crate::http::TokenSource::None,
        token_placement: TokenPlacement::AUTHORIZATION,
        redirect_domains: &[],
        request_timeout: std::time::Duration::from_secs(1),
    })
    .unwrap()
}

/// Any JSON value, nested a few levels.
pub fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        ".{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(".{0,8}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A JSON object that mixes `fields` (each possibly replaced by anything) with unknown ones.
pub fn arb_object_with(fields: &'static [&'static str]) -> impl Strategy<Value = Value> {
    (
        prop::collection::vec(prop::option::of(arb_json()), fields.len()),
        prop::collection::btree_map("[A-Za-z]{1,10}", arb_json(), 0..4),
    )
        .prop_map(move |(values, extra)| {
            let mut map: serde_json::Map<String, Value> = extra.into_iter().collect();
            for (name, value) in fields.iter().zip(values) {
                if let Some(value) = value {
                    map.insert((*name).to_string(), value);
                }
            }
            Value::Object(map)
        })
}

/// The known fields of a model, to generate documents that are structurally valid (every field
/// where the model expects it) while each value is hostile.
pub enum Shape {
    /// A value the model reads as text or a number.
    Leaf,
    /// An object (in XML an element) with these fields; in XML a name starting with `@` is an
    /// attribute.
    Object(&'static [(&'static str, Shape)]),
    /// A list of items (in XML the field's element, repeated).
    List(&'static Shape),
}

/// Numbers (as text) that break naive parsing: beyond every integer type, negative, fractional,
/// dates after the year 9999, and forms Rust's parsers refuse.
const NUMBERS: &[&str] = &[
    "0",
    "-0",
    "-1",
    "1.5",
    "-2.5",
    "1e300",
    "-1e300",
    "1e-300",
    "NaN",
    "inf",
    "-inf",
    "127",
    "255",
    "256",
    "65535",
    "65536",
    "2147483647",
    "2147483648",
    "4294967295",
    "4294967296",
    "9223372036854775807",
    "9223372036854775808",
    "-9223372036854775808",
    "-9223372036854775809",
    "18446744073709551615",
    "18446744073709551616",
    "253402300799999",
    "253402300800000",
    "-253402300800000",
    "99999999999999999999999999999999",
    " 7 ",
    "+5",
    "007",
    "0x10",
    "1_000",
];

/// The same numbers as JSON numbers (those JSON can hold).
const JSON_NUMBERS: &[&str] = &[
    "0",
    "-0",
    "-1",
    "1.5",
    "-2.5",
    "1e300",
    "-1e300",
    "1e-300",
    "1.7976931348623157e308",
    "4294967296",
    "9223372036854775807",
    "9223372036854775808",
    "-9223372036854775808",
    "-9223372036854775809",
    "18446744073709551615",
    "18446744073709551616",
    "253402300799999",
    "253402300800000",
    "253402300800000.5",
    "-253402300800000",
    "99999999999999999999999999999999",
];

/// A hostile text: numbers beyond every integer type, long strings, unicode, control
/// characters, surrounding whitespace.
pub fn arb_text() -> BoxedStrategy<String> {
    prop_oneof![
        3 => prop::sample::select(NUMBERS).prop_map(str::to_string),
        1 => any::<i64>().prop_map(|n| n.to_string()),
        1 => any::<u64>().prop_map(|n| n.to_string()),
        1 => any::<f64>().prop_map(|f| f.to_string()),
        3 => ".{0,24}",
        1 => "\\s{0,2}[A-Za-z]{1,20}\\s{0,2}",
        1 => (".{1,3}", 400..1500usize).prop_map(|(s, n)| s.repeat(n)),
    ]
    .boxed()
}

/// A hostile text that XML 1.0 can carry (no control characters but tab and newline).
pub fn arb_xml_text() -> BoxedStrategy<String> {
    arb_text()
        .prop_map(|s| {
            s.chars()
                .filter(|c| !c.is_control() || matches!(c, '\t' | '\n'))
                .collect()
        })
        .boxed()
}

/// A hostile JSON value for a field: hostile texts, numbers huge, negative and fractional
/// (1e300, the integer extremes), and any other JSON.
pub fn arb_value() -> BoxedStrategy<Value> {
    prop_oneof![
        4 => arb_text().prop_map(Value::String),
        3 => prop::sample::select(JSON_NUMBERS)
            .prop_map(|n| serde_json::from_str(n).expect("a JSON number")),
        1 => any::<i64>().prop_map(Value::from),
        1 => any::<u64>().prop_map(Value::from),
        1 => any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        1 => arb_json(),
    ]
    .boxed()
}

/// A document of `shape`, each field present or not, each leaf drawn from `leaf`.
pub fn arb_document(
    shape: &'static Shape,
    leaf: fn() -> BoxedStrategy<Value>,
) -> BoxedStrategy<Value> {
    match shape {
        Shape::Leaf => leaf(),
        Shape::Object(fields) => fields
            .iter()
            .map(|(name, shape)| {
                prop::option::weighted(0.85, arb_document(shape, leaf))
                    .prop_map(move |value| value.map(|value| ((*name).to_string(), value)))
                    .boxed()
            })
            .collect::<Vec<_>>()
            .prop_map(|fields| Value::Object(fields.into_iter().flatten().collect()))
            .boxed(),
        Shape::List(item) => prop::collection::vec(arb_document(item, leaf), 0..4)
            .prop_map(Value::Array)
            .boxed(),
    }
}

/// The document of `shape` with every field present, one item in every list, and `"x"` in
/// every leaf: a model that reads it has every field set (a check that the shape knows them all).
pub fn full_document(shape: &Shape) -> Value {
    match shape {
        Shape::Leaf => Value::String("x".into()),
        Shape::Object(fields) => Value::Object(
            fields
                .iter()
                .map(|(name, shape)| ((*name).to_string(), full_document(shape)))
                .collect(),
        ),
        Shape::List(item) => Value::Array(vec![full_document(item)]),
    }
}

/// `value` as the XML element `name`: members named `@…` become attributes, lists repeat the
/// element, text is escaped.
pub fn to_xml(name: &str, value: &Value) -> String {
    use quick_xml::escape::escape;
    match value {
        Value::Array(items) => items.iter().map(|item| to_xml(name, item)).collect(),
        Value::Object(map) => {
            let mut attributes = String::new();
            let mut children = String::new();
            for (key, value) in map {
                match key.strip_prefix('@') {
                    Some(attribute) => attributes.push_str(&format!(
                        " {attribute}=\"{}\"",
                        escape(value.as_str().unwrap_or_default())
                    )),
                    None => children.push_str(&to_xml(key, value)),
                }
            }
            format!("<{name}{attributes}>{children}</{name}>")
        }
        Value::String(text) => format!("<{name}>{}</{name}>", escape(text.as_str())),
        other => format!("<{name}>{other}</{name}>"),
    }
}

/// Runs a future that does no I/O (a platform's judgement) to its end.
pub fn finish<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime")
        .block_on(future)
}
