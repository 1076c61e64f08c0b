//! Search parameters read from a query string or a JSON body into an index
//! [`Search`]; every failure is a 400 naming its parameter.

use serde::Deserialize;
use serde_json::{Map, Value};

use super::error::ApiError;
use crate::config::ServerSettings;
use crate::index::{Bbox, Interval, PageToken, Search, geometry};

/// Search parameters of a GET query string; lists are comma-separated.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct SearchQuery {
    /// `minx,miny,maxx,maxy` (or 6 numbers).
    pub bbox: Option<String>,
    /// A GeoJSON geometry as JSON text.
    pub intersects: Option<String>,
    /// An instant or an interval.
    pub datetime: Option<String>,
    /// Item ids.
    pub ids: Option<String>,
    /// Collection ids.
    pub collections: Option<String>,
    /// Page size.
    pub limit: Option<String>,
    /// Paging token from a `next` link.
    pub token: Option<String>,
}

impl SearchQuery {
    /// Validates the parameters into a search.
    pub fn to_search(&self, server: &ServerSettings) -> Result<Search, ApiError> {
        let intersects = match &self.intersects {
            Some(text) => Some(
                serde_json::from_str(text)
                    .map_err(|e| ApiError::bad_parameter("intersects", format!("not JSON: {e}")))?,
            ),
            None => None,
        };
        let bbox = match &self.bbox {
            Some(text) => Some(bbox_text(text)?),
            None => None,
        };
        let limit = match &self.limit {
            Some(text) => {
                let n = text
                    .trim()
                    .parse::<i64>()
                    .map_err(|_| not_positive("limit"))?;
                limit(Some(n), server)?
            }
            None => limit(None, server)?,
        };
        search(
            bbox,
            intersects.as_ref(),
            self.datetime.as_deref(),
            self.ids.as_deref().map(list),
            self.collections.as_deref().map(list),
            limit,
            self.token.as_deref(),
        )
    }
}

/// Validates a POST `/search` body into a search.
pub fn from_body(body: &Value, server: &ServerSettings) -> Result<Search, ApiError> {
    let body = body
        .as_object()
        .ok_or_else(|| ApiError::bad_parameter("body", "expected a JSON object"))?;
    let field = |name: &str| body.get(name).filter(|v| !v.is_null());
    let bbox = match field("bbox") {
        Some(value) => {
            let numbers = value
                .as_array()
                .and_then(|values| values.iter().map(Value::as_f64).collect::<Option<Vec<_>>>())
                .ok_or_else(|| ApiError::bad_parameter("bbox", "expected an array of numbers"))?;
            Some(Bbox::from_values(&numbers).map_err(|e| ApiError::bad_parameter("bbox", e))?)
        }
        None => None,
    };
    let datetime = match field("datetime") {
        Some(value) => Some(
            value
                .as_str()
                .ok_or_else(|| ApiError::bad_parameter("datetime", "expected a string"))?,
        ),
        None => None,
    };
    let limit_value = match field("limit") {
        Some(value) => Some(value.as_i64().ok_or_else(|| not_positive("limit"))?),
        None => None,
    };
    let token = match field("token") {
        Some(value) => Some(
            value
                .as_str()
                .ok_or_else(|| ApiError::bad_parameter("token", "expected a string"))?,
        ),
        None => None,
    };
    search(
        bbox,
        field("intersects"),
        datetime,
        strings(body, "ids")?,
        strings(body, "collections")?,
        limit(limit_value, server)?,
        token,
    )
}

/// Checks the parts common to GET and POST and assembles the search.
fn search(
    bbox: Option<Bbox>,
    intersects: Option<&Value>,
    datetime: Option<&str>,
    ids: Option<Vec<String>>,
    collections: Option<Vec<String>>,
    limit: usize,
    token: Option<&str>,
) -> Result<Search, ApiError> {
    if bbox.is_some() && intersects.is_some() {
        return Err(ApiError::bad_parameter(
            "intersects",
            "bbox and intersects cannot be used together",
        ));
    }
    let intersects = match intersects {
        Some(value) => Some(
            geometry::from_geojson(value).map_err(|e| ApiError::bad_parameter("intersects", e))?,
        ),
        None => None,
    };
    let datetime = match datetime {
        Some(text) => {
            Some(Interval::parse(text).map_err(|e| ApiError::bad_parameter("datetime", e))?)
        }
        None => None,
    };
    let token = match token {
        Some(text) => {
            Some(PageToken::decode(text).map_err(|e| ApiError::bad_parameter("token", e))?)
        }
        None => None,
    };
    Ok(Search {
        bbox,
        intersects,
        datetime,
        ids,
        collections,
        limit,
        token,
    })
}

/// The page size: the default when absent, clamped to the maximum; not positive is an error.
pub fn limit(value: Option<i64>, server: &ServerSettings) -> Result<usize, ApiError> {
    let limit = match value {
        None => server.default_limit,
        Some(n) if n > 0 => usize::try_from(n).unwrap_or(usize::MAX),
        Some(_) => return Err(not_positive("limit")),
    };
    Ok(limit.min(server.max_limit).max(1))
}

/// The 400 for a limit that is not a positive integer.
fn not_positive(parameter: &'static str) -> ApiError {
    ApiError::bad_parameter(parameter, "expected a positive integer")
}

/// A bbox given as comma-separated numbers.
pub fn bbox_text(text: &str) -> Result<Bbox, ApiError> {
    let numbers = text
        .split(',')
        .map(|n| n.trim().parse::<f64>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| ApiError::bad_parameter("bbox", "expected comma-separated numbers"))?;
    Bbox::from_values(&numbers).map_err(|e| ApiError::bad_parameter("bbox", e))
}

/// A comma-separated list, without empty entries.
fn list(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

/// An optional array of strings in a JSON body.
fn strings(body: &Map<String, Value>, name: &'static str) -> Result<Option<Vec<String>>, ApiError> {
    match body.get(name).filter(|v| !v.is_null()) {
        None => Ok(None),
        Some(value) => value
            .as_array()
            .and_then(|values| {
                values
                    .iter()
                    .map(|v| v.as_str().map(String::from))
                    .collect::<Option<Vec<_>>>()
            })
            .map(Some)
            .ok_or_else(|| ApiError::bad_parameter(name, "expected an array of strings")),
    }
}
