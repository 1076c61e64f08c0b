//! The fields extension (STAC API fields extension 1.0.0): which attributes of each Item a
//! search returns.
//!
//! Without `fields`, Items are whole. With `fields`:
//! - nothing to include or exclude (`fields=`, `{}`, nulls, empty arrays): the default
//!   set ([`DEFAULT_FIELDS`]);
//! - only `exclude` (POST without an `include` member; GET with only `-` entries): the
//!   whole Item minus the excluded paths;
//! - `include` given but empty or null: the default set minus the excluded paths;
//! - `include` paths: those and the identifying [`ALWAYS_FIELDS`], minus the excluded
//!   paths, except that an exclusion
//!   never removes a path included as is or more specifically (`-properties,
//!   +properties.gsd` keeps `properties.gsd`; `+geometry,-geometry` keeps `geometry`).
//!
//! Paths are dot-separated (`properties.eo:cloud_cover`).

use serde_json::{Map, Value};

use super::error::ApiError;

/// What an Item keeps when `fields` names nothing to include.
pub const DEFAULT_FIELDS: &[&str] = &[
    "type",
    "stac_version",
    "stac_extensions",
    "id",
    "collection",
    "geometry",
    "bbox",
    "links",
    "assets",
    "properties.datetime",
    "properties.start_datetime",
    "properties.end_datetime",
];

/// What an Item keeps besides the included paths, so that it stays an identifiable
/// Feature (an explicit exclusion still removes them).
pub const ALWAYS_FIELDS: &[&str] = &["type", "stac_version", "id", "collection"];

/// A validated `fields` parameter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fields {
    /// Paths to keep; `None` when the client gave no `include` at all.
    pub include: Option<Vec<String>>,
    /// Paths to drop.
    pub exclude: Vec<String>,
}

impl Fields {
    /// Reads a GET `fields`: comma-separated paths, `-` excludes, `+` (or none) includes.
    pub fn from_text(text: &str) -> Result<Fields, ApiError> {
        let mut include = Vec::new();
        let mut exclude = Vec::new();
        // A `+` of a query string arrives as a space.
        for entry in text.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            match entry.strip_prefix('-') {
                Some(path) => exclude.push(path_of(path)?),
                None => include.push(path_of(entry.strip_prefix('+').unwrap_or(entry))?),
            }
        }
        let include = if include.is_empty() && !exclude.is_empty() {
            None
        } else {
            Some(include)
        };
        Ok(Fields { include, exclude })
    }

    /// Reads a POST `fields`: `{"include": [...], "exclude": [...]}`, both optional.
    pub fn from_value(value: &Value) -> Result<Fields, ApiError> {
        let object = value.as_object().ok_or_else(|| {
            ApiError::bad_parameter("fields", "expected an object with include and exclude")
        })?;
        if let Some(key) = object
            .keys()
            .find(|key| !matches!(key.as_str(), "include" | "exclude"))
        {
            return Err(ApiError::bad_parameter(
                "fields",
                format!("unknown member `{key}`; expected include and exclude"),
            ));
        }
        let paths = |name: &str| -> Result<Option<Vec<String>>, ApiError> {
            match object.get(name) {
                None => Ok(None),
                Some(Value::Null) => Ok(Some(Vec::new())),
                Some(Value::Array(values)) => values
                    .iter()
                    .map(|v| match v.as_str() {
                        Some(path) => path_of(path),
                        None => Err(ApiError::bad_parameter(
                            "fields",
                            format!("{name}: expected an array of strings"),
                        )),
                    })
                    .collect::<Result<Vec<_>, _>>()
                    .map(Some),
                Some(_) => Err(ApiError::bad_parameter(
                    "fields",
                    format!("{name}: expected an array of strings"),
                )),
            }
        };
        let exclude = paths("exclude")?.unwrap_or_default();
        let include = match paths("include")? {
            None if exclude.is_empty() => Some(Vec::new()),
            include => include,
        };
        Ok(Fields { include, exclude })
    }

    /// The Item reduced to the requested attributes.
    pub fn apply(&self, item: Value) -> Value {
        let Value::Object(full) = item else {
            return item;
        };
        let include: &[String] = self.include.as_deref().unwrap_or_default();
        let mut kept = match &self.include {
            None => full,
            Some(paths) => {
                let mut kept = Map::new();
                let wanted: Vec<&str> = if paths.is_empty() {
                    DEFAULT_FIELDS.to_vec()
                } else {
                    let included = paths.iter().map(String::as_str);
                    ALWAYS_FIELDS.iter().copied().chain(included).collect()
                };
                for path in wanted {
                    copy(&full, &mut kept, &segments(path));
                }
                kept
            }
        };
        for path in &self.exclude {
            let included = include
                .iter()
                .any(|i| i == path || i.starts_with(&format!("{path}.")));
            if !included {
                remove(&mut kept, &segments(path));
            }
        }
        Value::Object(kept)
    }
}

/// A path checked to be non-empty, without empty segments.
fn path_of(text: &str) -> Result<String, ApiError> {
    let path = text.trim();
    if path.is_empty() || path.split('.').any(str::is_empty) {
        return Err(ApiError::bad_parameter(
            "fields",
            format!("{text:?} is not a field path like properties.datetime"),
        ));
    }
    Ok(path.to_string())
}

/// The segments of a dot-separated path.
fn segments(path: &str) -> Vec<&str> {
    path.split('.').collect()
}

/// Copies the value at `path` of `from` into `to`, creating the objects on the way.
fn copy(from: &Map<String, Value>, to: &mut Map<String, Value>, path: &[&str]) {
    let Some((first, rest)) = path.split_first() else {
        return;
    };
    let Some(value) = from.get(*first) else {
        return;
    };
    if rest.is_empty() {
        to.insert((*first).to_string(), value.clone());
        return;
    }
    let Value::Object(inner) = value else {
        return;
    };
    let target = to
        .entry((*first).to_string())
        .or_insert_with(|| Value::Object(Map::new()));
    if let Value::Object(target) = target {
        copy(inner, target, rest);
    }
}

/// Removes the value at `path`, if any.
fn remove(map: &mut Map<String, Value>, path: &[&str]) {
    match path {
        [] => {}
        [last] => {
            map.remove(*last);
        }
        [first, rest @ ..] => {
            if let Some(Value::Object(inner)) = map.get_mut(*first) {
                remove(inner, rest);
            }
        }
    }
}
