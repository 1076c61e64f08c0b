//! The query extension's `query` object (STAC API query extension 1.0.0-rc.1),
//! translated into a CQL2 expression that is ANDed with any `filter`.
//!
//! `{"eo:cloud_cover": {"lt": 10}, "platform": {"in": ["a", "b"]}}` becomes
//! `"eo:cloud_cover" < 10 AND platform IN ('a', 'b')`; every operator of one property and
//! every property must hold.
//!
//! Operands are JSON values as given, except that a numeric string compared with a
//! property whose queryable type is `number` or `integer` is read as that number
//! (clients such as stac-api-validator send `{"gsd": {"lt": "10"}}`), and `in` on a
//! property whose queryable type is `array` holds when the arrays share a value.

use cql2::Expr;
use serde_json::{Value, json};

use super::error::ApiError;

/// Parses a GET `query` (the JSON object as text); `queryables` is the schema of the
/// searched Items' properties, when known.
pub fn from_text(text: &str, queryables: Option<&Value>) -> Result<Option<Expr>, ApiError> {
    let value: Value = serde_json::from_str(text)
        .map_err(|e| ApiError::bad_parameter("query", format!("not JSON: {e}")))?;
    from_value(&value, queryables)
}

/// Translates a `query` object; an empty object is no condition.
pub fn from_value(value: &Value, queryables: Option<&Value>) -> Result<Option<Expr>, ApiError> {
    let properties = value
        .as_object()
        .ok_or_else(|| ApiError::bad_parameter("query", "expected a JSON object"))?;
    let mut conditions = Vec::new();
    for (property, operators) in properties {
        let operators = operators.as_object().ok_or_else(|| {
            ApiError::bad_parameter(
                "query",
                format!("`{property}`: expected an object of operators"),
            )
        })?;
        let name = property.strip_prefix("properties.").unwrap_or(property);
        let kind = queryables.and_then(|schema| schema.get("properties")?.get(name)?.get("type"));
        let numeric = kind.is_some_and(|kind| kind == "number" || kind == "integer");
        let array = kind.is_some_and(|kind| kind == "array");
        for (operator, operand) in operators {
            let operand = if numeric {
                as_number(operand)
            } else {
                operand.clone()
            };
            conditions.push(condition(property, operator, &operand, array)?);
        }
    }
    let expr = match conditions.len() {
        0 => return Ok(None),
        1 => conditions.remove(0),
        _ => json!({"op": "and", "args": conditions}),
    };
    serde_json::from_value(expr)
        .map(Some)
        .map_err(|e| ApiError::bad_parameter("query", format!("cannot be expressed: {e}")))
}

/// One `property operator operand` condition as CQL2 JSON; `in` on an array property
/// means that the arrays overlap.
fn condition(
    property: &str,
    operator: &str,
    operand: &Value,
    array: bool,
) -> Result<Value, ApiError> {
    let name = property.strip_prefix("properties.").unwrap_or(property);
    let left = json!({"property": name});
    let op = match operator {
        "eq" => "=",
        "neq" => "<>",
        "lt" => "<",
        "lte" => "<=",
        "gt" => ">",
        "gte" => ">=",
        "startsWith" | "endsWith" | "contains" => {
            let text = operand.as_str().ok_or_else(|| {
                ApiError::bad_parameter(
                    "query",
                    format!("`{property}`.{operator}: expected a string"),
                )
            })?;
            let escaped = escape_like(text);
            let pattern = match operator {
                "startsWith" => format!("{escaped}%"),
                "endsWith" => format!("%{escaped}"),
                _ => format!("%{escaped}%"),
            };
            return Ok(json!({"op": "like", "args": [left, pattern]}));
        }
        "in" => {
            let values = operand
                .as_array()
                .filter(|values| !values.is_empty() && values.iter().all(is_scalar))
                .ok_or_else(|| {
                    ApiError::bad_parameter(
                        "query",
                        format!("`{property}`.in: expected a non-empty array of scalars"),
                    )
                })?;
            let op = if array { "a_overlaps" } else { "in" };
            return Ok(json!({"op": op, "args": [left, values]}));
        }
        other => {
            return Err(ApiError::bad_parameter(
                "query",
                format!("`{property}`: unknown operator `{other}`"),
            ));
        }
    };
    if !is_scalar(operand) {
        return Err(ApiError::bad_parameter(
            "query",
            format!("`{property}`.{operator}: expected a string, number or boolean"),
        ));
    }
    Ok(json!({"op": op, "args": [left, operand]}))
}

/// A numeric string (or an array of them) read as numbers; anything else unchanged.
fn as_number(value: &Value) -> Value {
    match value {
        Value::String(text) => text
            .trim()
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map_or_else(|| value.clone(), Value::Number),
        Value::Array(values) => Value::Array(values.iter().map(as_number).collect()),
        other => other.clone(),
    }
}

/// Whether a value is a string, number or boolean.
fn is_scalar(value: &Value) -> bool {
    matches!(value, Value::String(_) | Value::Number(_) | Value::Bool(_))
}

/// Escapes the CQL2 `LIKE` wildcards (`%`, `_`) and the escape character itself.
fn escape_like(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}
