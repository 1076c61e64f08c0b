//! `sortby`: a total order over Items by the values of their fields, missing values last,
//! ties broken by (collection, id), so keyset paging visits each Item once.

use std::cmp::Ordering;

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::temporal::instant;
use super::{IndexedItem, SortKey};

/// The value an Item has for a sort field, as JSON: `id` and `collection` from the Item,
/// else its property, else its top-level member; `Null` when missing.
pub fn value_of(item: &IndexedItem, field: &str) -> Value {
    let field = field.strip_prefix("properties.").unwrap_or(field);
    match field {
        "id" => Value::String(item.id.clone()),
        "collection" => Value::String(item.collection.to_string()),
        _ => item
            .property(field)
            .or_else(|| item.member(field))
            .unwrap_or(Value::Null),
    }
}

/// A JSON value ranked for sorting: booleans, numbers, date-times, other strings, then
/// anything else by its JSON text. Null (missing) is kept apart and always sorts last.
#[derive(Debug, PartialEq, PartialOrd)]
enum Rank {
    Bool(bool),
    Number(f64),
    Time(DateTime<Utc>),
    Text(String),
    Other(String),
}

impl Rank {
    /// Ranks a value; `None` for null.
    fn of(value: &Value) -> Option<Rank> {
        Some(match value {
            Value::Null => return None,
            Value::Bool(b) => Rank::Bool(*b),
            Value::Number(n) => Rank::Number(n.as_f64().unwrap_or(f64::NAN)),
            Value::String(s) => match instant(s) {
                Ok(time) => Rank::Time(time),
                Err(_) => Rank::Text(s.clone()),
            },
            other => Rank::Other(other.to_string()),
        })
    }
}

/// What a value beyond the end of a list of sort values reads as.
static NULL: Value = Value::Null;

/// Compares two values of one key: missing last whatever the direction.
fn compare(a: &Value, b: &Value, descending: bool) -> Ordering {
    match (Rank::of(a), Rank::of(b)) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Greater,
        (Some(_), None) => Ordering::Less,
        (Some(a), Some(b)) => {
            let order = a.partial_cmp(&b).unwrap_or(Ordering::Equal);
            if descending { order.reverse() } else { order }
        }
    }
}

/// An Item's position in a sorted result: its sort values, then its (collection, id).
#[derive(Debug, Clone, Copy)]
pub struct SortPosition<'a> {
    /// One value per sort key.
    pub values: &'a [Value],
    /// Collection id.
    pub collection: &'a str,
    /// Item id.
    pub id: &'a str,
}

/// The order of two positions under `keys`; values beyond either list count as missing.
pub fn order<'a>(keys: &[SortKey], a: SortPosition<'a>, b: SortPosition<'a>) -> Ordering {
    keys.iter()
        .enumerate()
        .map(|(n, key)| {
            let value = |p: SortPosition<'a>| p.values.get(n).unwrap_or(&NULL);
            compare(value(a), value(b), key.descending)
        })
        .find(|o| o.is_ne())
        .unwrap_or_else(|| (a.collection, a.id).cmp(&(b.collection, b.id)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn key(field: &str, descending: bool) -> SortKey {
        SortKey {
            field: field.into(),
            descending,
        }
    }

    #[test]
    fn orders_values_missing_last_then_by_key() {
        let at = |values: &'static [Value], id: &'static str| SortPosition {
            values,
            collection: "c",
            id,
        };
        let asc = [key("n", false)];
        let desc = [key("n", true)];
        static ONE: [Value; 1] = [Value::Null];
        let two = vec![json!(2)].leak();
        let ten = vec![json!(10)].leak();
        assert_eq!(order(&asc, at(two, "a"), at(ten, "b")), Ordering::Less);
        assert_eq!(order(&desc, at(two, "a"), at(ten, "b")), Ordering::Greater);
        assert_eq!(order(&asc, at(&ONE, "a"), at(ten, "b")), Ordering::Greater);
        assert_eq!(order(&desc, at(&ONE, "a"), at(ten, "b")), Ordering::Greater);
        assert_eq!(order(&asc, at(two, "b"), at(two, "a")), Ordering::Greater);
        assert_eq!(order(&desc, at(&ONE, "a"), at(&[], "b")), Ordering::Less);
        let early = vec![json!("2020-01-01T01:00:00+02:00")].leak();
        let late = vec![json!("2020-01-01T00:00:00Z")].leak();
        assert_eq!(order(&asc, at(early, "z"), at(late, "a")), Ordering::Less);
    }
}
