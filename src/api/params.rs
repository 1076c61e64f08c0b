//! Search parameters read from a query string or a JSON body into an index
//! [`Search`] and the [`Fields`] of its response; every failure is a 400 naming its
//! parameter. GET and POST accept the same parameters (STAC API item search with the
//! filter, sort, fields, query and free-text extensions).

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::{Map, Value};

use super::error::ApiError;
use super::fields::Fields;
use super::filter::{self, FilterLang};
use super::{query, sortby};
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
    /// A CQL2 filter, in the language of `filter-lang`.
    pub filter: Option<String>,
    /// `cql2-text` (the default) or `cql2-json`.
    #[serde(rename = "filter-lang")]
    pub filter_lang: Option<String>,
    /// The CRS of the filter's geometries; only CRS84 / EPSG:4326.
    #[serde(rename = "filter-crs")]
    pub filter_crs: Option<String>,
    /// Sort keys: `+datetime,-id`.
    pub sortby: Option<String>,
    /// Fields to include or (with `-`) exclude.
    pub fields: Option<String>,
    /// A query extension object as JSON text.
    pub query: Option<String>,
    /// Free-text terms, comma-separated.
    pub q: Option<String>,
}

impl SearchQuery {
    /// Validates the parameters into a search; `queryables` (the schema of the searched
    /// Items' properties, asked for only when `query` is given) types the operands of
    /// `query`.
    pub fn to_search<'q>(
        &self,
        server: &ServerSettings,
        queryables: impl FnOnce() -> Option<Cow<'q, Value>>,
    ) -> Result<Search, ApiError> {
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
        let mut search = search(
            bbox,
            intersects.as_ref(),
            self.datetime.as_deref(),
            self.ids.as_deref().map(list),
            self.collections.as_deref().map(list),
            limit,
            self.token.as_deref(),
        )?;
        let lang = FilterLang::parse(self.filter_lang.as_deref(), FilterLang::Text)?;
        filter::check_crs(self.filter_crs.as_deref())?;
        let filter = match &self.filter {
            Some(text) => Some(filter::from_text(text, lang)?),
            None => None,
        };
        let query = match &self.query {
            Some(text) => query::from_text(text, queryables().as_deref())?,
            None => None,
        };
        search.filter = filter::and(filter, query);
        search.sortby = match &self.sortby {
            Some(text) => sortby::from_text(text)?,
            None => Vec::new(),
        };
        search.q = self
            .q
            .as_deref()
            .map(list)
            .filter(|terms| !terms.is_empty());
        Ok(search)
    }

    /// The `fields` to apply to each returned Item, when given.
    pub fn fields(&self) -> Result<Option<Fields>, ApiError> {
        self.fields.as_deref().map(Fields::from_text).transpose()
    }
}

/// The `fields` of a POST body, when given; `null` is an error (the extension says to
/// send `{}` for the default set).
pub fn body_fields(body: &Value) -> Result<Option<Fields>, ApiError> {
    body.get("fields").map(Fields::from_value).transpose()
}

/// Validates a POST `/search` body into a search; `queryables` as for GET.
pub fn from_body<'q>(
    body: &Value,
    server: &ServerSettings,
    queryables: impl FnOnce() -> Option<Cow<'q, Value>>,
) -> Result<Search, ApiError> {
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
    let mut search = search(
        bbox,
        field("intersects"),
        datetime,
        strings(body, "ids")?,
        strings(body, "collections")?,
        limit(limit_value, server)?,
        token,
    )?;
    let lang = match field("filter-lang") {
        Some(value) => Some(
            value
                .as_str()
                .ok_or_else(|| ApiError::bad_parameter("filter-lang", "expected a string"))?,
        ),
        None => None,
    };
    let lang = FilterLang::parse(lang, FilterLang::Json)?;
    let crs = match field("filter-crs") {
        Some(value) => Some(
            value
                .as_str()
                .ok_or_else(|| ApiError::bad_parameter("filter-crs", "expected a string"))?,
        ),
        None => None,
    };
    filter::check_crs(crs)?;
    let filter = match field("filter") {
        Some(value) => Some(filter::from_value(value, lang)?),
        None => None,
    };
    let query = match field("query") {
        Some(value) => query::from_value(value, queryables().as_deref())?,
        None => None,
    };
    search.filter = filter::and(filter, query);
    search.sortby = match field("sortby") {
        Some(value) => sortby::from_value(value)?,
        None => Vec::new(),
    };
    search.q = match field("q") {
        None => None,
        Some(Value::String(text)) => Some(list(text)),
        Some(Value::Array(_)) => strings(body, "q")?,
        Some(_) => {
            return Err(ApiError::bad_parameter(
                "q",
                "expected a string or an array of strings",
            ));
        }
    }
    .filter(|terms| !terms.is_empty());
    Ok(search)
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
    let datetime = datetime.map(interval).transpose()?;
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
        ..Search::default()
    })
}

/// A `datetime` instant or interval; an interval open at both ends is an error (STAC API
/// item search: `../..` and `/` are invalid).
pub fn interval(text: &str) -> Result<Interval, ApiError> {
    if let Some((start, end)) = text.trim().split_once('/')
        && matches!(start, "" | "..")
        && matches!(end, "" | "..")
    {
        return Err(ApiError::bad_parameter(
            "datetime",
            "an interval needs at least one end",
        ));
    }
    Interval::parse(text).map_err(|e| ApiError::bad_parameter("datetime", e))
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
pub fn list(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

/// An optional array of strings in a JSON body; for `collections`, a string is read as
/// a comma-separated list too, as some clients (stac-api-validator) send `"a"`.
fn strings(body: &Map<String, Value>, name: &'static str) -> Result<Option<Vec<String>>, ApiError> {
    match body.get(name).filter(|v| !v.is_null()) {
        None => Ok(None),
        Some(Value::String(text)) if name == "collections" => Ok(Some(list(text))),
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
