//! The sort extension's `sortby` (STAC API sort extension 1.0.0): GET `+datetime,-id`,
//! POST `[{"field": "datetime", "direction": "desc"}]`.

use serde_json::Value;

use super::error::ApiError;
use crate::index::SortKey;

/// Reads a GET `sortby`: comma-separated fields, `-` descending, `+` (or none) ascending.
pub fn from_text(text: &str) -> Result<Vec<SortKey>, ApiError> {
    text.split(',')
        .map(|entry| {
            // A `+` of a query string arrives as a space.
            let entry = entry.trim_start_matches(' ');
            let (field, descending) = match entry.strip_prefix('-') {
                Some(field) => (field, true),
                None => (entry.strip_prefix('+').unwrap_or(entry), false),
            };
            key(field, descending)
        })
        .collect()
}

/// Reads a POST `sortby`: an array of `{field, direction}`, direction `asc` by default.
pub fn from_value(value: &Value) -> Result<Vec<SortKey>, ApiError> {
    let entries = value.as_array().ok_or_else(|| {
        ApiError::bad_parameter("sortby", "expected an array of {field, direction}")
    })?;
    entries
        .iter()
        .map(|entry| {
            let field = entry
                .get("field")
                .and_then(Value::as_str)
                .ok_or_else(|| ApiError::bad_parameter("sortby", "each entry needs a field"))?;
            let descending = match entry.get("direction").filter(|d| !d.is_null()) {
                None => false,
                Some(direction) => match direction.as_str() {
                    Some("asc") => false,
                    Some("desc") => true,
                    _ => {
                        return Err(ApiError::bad_parameter(
                            "sortby",
                            format!("direction of `{field}` must be asc or desc"),
                        ));
                    }
                },
            };
            key(field, descending)
        })
        .collect()
}

/// One key, its field checked to be a plain path.
fn key(field: &str, descending: bool) -> Result<SortKey, ApiError> {
    let field = field.trim();
    let plain = !field.is_empty()
        && !field.split('.').any(str::is_empty)
        && field
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | ':' | '_' | '-'));
    if !plain {
        return Err(ApiError::bad_parameter(
            "sortby",
            format!("{field:?} is not a field name like datetime or properties.eo:cloud_cover"),
        ));
    }
    Ok(SortKey {
        field: field.to_string(),
        descending,
    })
}
