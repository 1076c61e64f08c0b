//! The filter extension's parameters (`filter`, `filter-lang`, `filter-crs`), read into
//! one validated CQL2 expression (OGC API Features Part 3, CQL2 1.0).

use cql2::Expr;
use serde_json::Value;

use super::error::ApiError;

/// The CRS URIs `filter-crs` may name: WGS 84 longitude/latitude, the only CRS of
/// filter geometries this gateway evaluates.
pub const FILTER_CRS: &[&str] = &[
    "http://www.opengis.net/def/crs/OGC/1.3/CRS84",
    "https://www.opengis.net/def/crs/OGC/1.3/CRS84",
    "http://www.opengis.net/def/crs/EPSG/0/4326",
    "https://www.opengis.net/def/crs/EPSG/0/4326",
    "EPSG:4326",
    "CRS84",
];

/// The encoding of a `filter`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilterLang {
    /// CQL2 text, the default of GET.
    Text,
    /// CQL2 JSON, the default of POST.
    Json,
}

impl FilterLang {
    /// Reads `filter-lang`; absent means `default`.
    pub fn parse(text: Option<&str>, default: FilterLang) -> Result<FilterLang, ApiError> {
        match text.map(str::trim) {
            None => Ok(default),
            Some("cql2-text") => Ok(FilterLang::Text),
            Some("cql2-json") => Ok(FilterLang::Json),
            Some(other) => Err(ApiError::bad_parameter(
                "filter-lang",
                format!("{other:?} is not cql2-text or cql2-json"),
            )),
        }
    }
}

/// Checks `filter-crs`: only WGS 84 longitude/latitude is accepted.
pub fn check_crs(crs: Option<&str>) -> Result<(), ApiError> {
    match crs.map(str::trim) {
        None => Ok(()),
        Some(crs) if FILTER_CRS.contains(&crs) => Ok(()),
        Some(crs) => Err(ApiError::bad_parameter(
            "filter-crs",
            format!("{crs:?} is not supported; use http://www.opengis.net/def/crs/OGC/1.3/CRS84"),
        )),
    }
}

/// Parses a `filter` given as text (a query string value, or a string in a POST body).
pub fn from_text(text: &str, lang: FilterLang) -> Result<Expr, ApiError> {
    let expr = match lang {
        FilterLang::Text => cql2::parse_text(text)
            .map_err(|e| ApiError::bad_parameter("filter", format!("not CQL2 text: {e}")))?,
        FilterLang::Json => cql2::parse_json(text)
            .map_err(|e| ApiError::bad_parameter("filter", format!("not CQL2 JSON: {e}")))?,
    };
    validated(expr)
}

/// Parses a `filter` of a POST body: a JSON object is CQL2 JSON (whatever `filter-lang`
/// says), a string follows `lang`.
pub fn from_value(value: &Value, lang: FilterLang) -> Result<Expr, ApiError> {
    match value {
        Value::String(text) => from_text(text, lang),
        Value::Object(_) => {
            let expr = serde_json::from_value::<Expr>(value.clone())
                .map_err(|e| ApiError::bad_parameter("filter", format!("not CQL2 JSON: {e}")))?;
            validated(expr)
        }
        _ => Err(ApiError::bad_parameter(
            "filter",
            "expected a CQL2 JSON object or a CQL2 text string",
        )),
    }
}

/// Both expressions (either may be absent).
pub fn and(left: Option<Expr>, right: Option<Expr>) -> Option<Expr> {
    match (left, right) {
        (Some(left), Some(right)) => Some(Expr::Operation {
            op: "and".into(),
            args: vec![Box::new(left), Box::new(right)],
        }),
        (left, right) => left.or(right),
    }
}

/// Operators of no class in `cql2`'s lists, which CQL2 reads as calls of custom
/// functions; this gateway defines none.
const OTHER_OPS: &[&str] = &["not", "like", "between", "in", "isNull", "casei", "accenti"];

/// Rejects an expression the CQL2 JSON schema does not accept (wrong arity, bad shapes)
/// or that calls a function this gateway does not evaluate, so that evaluation never
/// meets a malformed tree.
fn validated(expr: Expr) -> Result<Expr, ApiError> {
    let expr = between_of_array(expr);
    if let Some(op) = unknown_op(&expr) {
        return Err(ApiError::bad_parameter(
            "filter",
            format!("unknown operator or function `{op}`"),
        ));
    }
    if !expr.is_valid() {
        return Err(ApiError::bad_parameter(
            "filter",
            "not a valid CQL2 expression (wrong arguments)",
        ));
    }
    Ok(expr)
}

/// Rewrites the draft spelling `between(x, [low, high])` (still sent by clients such as
/// stac-api-validator) into CQL2 1.0's `between(x, low, high)`, everywhere in `expr`.
fn between_of_array(expr: Expr) -> Expr {
    match expr {
        Expr::Operation { op, args } => {
            let mut args: Vec<Box<Expr>> = args
                .into_iter()
                .map(|arg| Box::new(between_of_array(*arg)))
                .collect();
            if op == "between"
                && let [_, range] = args.as_slice()
                && let Expr::Array(bounds) = range.as_ref()
                && bounds.len() == 2
            {
                let bounds = bounds.clone();
                args.truncate(1);
                args.extend(bounds);
            }
            Expr::Operation { op, args }
        }
        other => other,
    }
}

/// The first operator in `expr` that no CQL2 class this gateway implements defines.
fn unknown_op(expr: &Expr) -> Option<&str> {
    let children: &[Box<Expr>] = match expr {
        Expr::Operation { op, args } => {
            let known = [
                cql2::BOOLOPS,
                cql2::EQOPS,
                cql2::CMPOPS,
                cql2::SPATIALOPS,
                cql2::TEMPORALOPS,
                cql2::ARITHOPS,
                cql2::ARRAYOPS,
                OTHER_OPS,
            ]
            .iter()
            .any(|ops| ops.contains(&op.as_str()));
            if !known {
                return Some(op);
            }
            args
        }
        Expr::Interval { interval } => interval,
        Expr::BBox { bbox } => bbox,
        Expr::Array(items) => items,
        Expr::Timestamp { timestamp } => return unknown_op(timestamp),
        Expr::Date { date } => return unknown_op(date),
        _ => &[],
    };
    children.iter().find_map(|child| unknown_op(child))
}
