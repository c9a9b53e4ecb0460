//! Helpers for the unit tests: answers to feed parsers, and arbitrary JSON.

use proptest::prelude::*;
use serde_json::Value;

use crate::http::Response;

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
