//! CQL2 filters: exact evaluation of an expression per Item (by the `cql2` crate), and the
//! spatial envelope and `datetime` bounds read from its top-level `and`, pushed down to
//! the R-tree and to a cheap pre-check before the exact evaluation.

use std::borrow::Cow;

use chrono::{DateTime, Utc};
use cql2::Expr;
use serde_json::{Map, Value};

use super::temporal::instant;
use super::{Bbox, IndexedItem, Interval, geometry};

/// Spatial operators that hold only when the two geometries share a point.
const INTERSECTING_SPATIAL: [&str; 7] = [
    "s_intersects",
    "s_within",
    "s_contains",
    "s_overlaps",
    "s_touches",
    "s_crosses",
    "s_equals",
];

/// Temporal operators that hold only when the two times share an instant.
const INTERSECTING_TEMPORAL: [&str; 10] = [
    "t_intersects",
    "t_during",
    "t_contains",
    "t_equals",
    "t_starts",
    "t_startedby",
    "t_finishes",
    "t_finishedby",
    "t_overlaps",
    "t_overlappedby",
];

/// Whether the expression holds for an Item. The expression sees the Item JSON (with
/// `id` and `collection`); names resolve at the top level, then under `properties`.
/// An evaluation error (a missing property, mismatched types) is no match.
///
/// Evaluated as the `cql2` crate evaluates it on the Item JSON, but cheaper per candidate:
/// a plain property name whose value is a number, string or boolean is replaced by that
/// literal here (the crate converts each value it reads through a serde round trip,
/// most of the cost of a comparison), and only the members the other property paths
/// start with are handed to it, not a copy of the whole Item.
pub fn matches(expr: &Expr, item: &IndexedItem) -> bool {
    let mut heads = Vec::new();
    let resolved = resolve(expr, item, &mut heads);
    let mut json = Map::new();
    if !heads.is_empty() {
        let mut properties = Map::new();
        for head in &heads {
            if let Some(value) = item.member(head.as_ref()) {
                json.entry(head.as_ref()).or_insert(value);
            }
            if !properties.contains_key(head.as_ref())
                && let Some(value) = item.property(head.as_ref())
            {
                properties.insert(head.to_string(), value);
            }
        }
        if !json.contains_key("properties") {
            json.insert("properties".into(), Value::Object(properties));
        }
        json.entry("id")
            .or_insert_with(|| Value::String(item.id.clone()));
        json.entry("collection")
            .or_insert_with(|| Value::String(item.collection.to_string()));
    }
    resolved
        .matches(Some(&Value::Object(json)))
        .unwrap_or(false)
}

/// A copy of the expression with each plain property name (no `.` or `\`) the Item has
/// as a number, string or boolean replaced by that literal, as `cql2` would read it: the
/// top-level member when present and not null, else the one under `properties`. The
/// first member names of the property paths left are added to `heads`.
fn resolve<'e>(expr: &'e Expr, item: &IndexedItem, heads: &mut Vec<Cow<'e, str>>) -> Expr {
    let all = |args: &'e [Box<Expr>], heads: &mut Vec<Cow<'e, str>>| -> Vec<Box<Expr>> {
        args.iter()
            .map(|a| Box::new(resolve(a, item, heads)))
            .collect()
    };
    match expr {
        Expr::Property { property } => match literal(property, item) {
            Some(value) => value,
            None => {
                let head = path_head(property);
                if !heads.contains(&head) {
                    heads.push(head);
                }
                expr.clone()
            }
        },
        Expr::Operation { op, args } => Expr::Operation {
            op: op.clone(),
            args: all(args, heads),
        },
        Expr::Interval { interval } => Expr::Interval {
            interval: all(interval, heads),
        },
        Expr::BBox { bbox } => Expr::BBox {
            bbox: all(bbox, heads),
        },
        Expr::Array(items) => Expr::Array(all(items, heads)),
        Expr::Timestamp { timestamp } => Expr::Timestamp {
            timestamp: Box::new(resolve(timestamp, item, heads)),
        },
        Expr::Date { date } => Expr::Date {
            date: Box::new(resolve(date, item, heads)),
        },
        Expr::Float(_) | Expr::Literal(_) | Expr::Bool(_) | Expr::Geometry(_) | Expr::Null => {
            expr.clone()
        }
    }
}

/// The literal `cql2` would read for a plain property name, when it is a number, string
/// or boolean (what its serde conversion makes `Float`, `Literal` and `Bool`); `None`
/// when the name is a path, or the value is absent, null, an array or an object.
fn literal(name: &str, item: &IndexedItem) -> Option<Expr> {
    if name.is_empty() || name.contains(['.', '\\']) {
        return None;
    }
    let implied = |name: &str| match name {
        "id" => Some(item.id.as_str()),
        "collection" => Some(&*item.collection),
        _ => None,
    };
    let scalar = |value: &Value| match value {
        Value::Number(n) => n.as_f64().map(Expr::Float),
        Value::String(s) => Some(Expr::Literal(s.clone())),
        Value::Bool(b) => Some(Expr::Bool(*b)),
        _ => None,
    };
    match item.member(name) {
        Some(Value::Null) => {}
        Some(value) => return scalar(&value),
        None => {
            if let Some(text) = implied(name) {
                return Some(Expr::Literal(text.to_owned()));
            }
        }
    }
    match item.property(name) {
        None | Some(Value::Null) => None,
        Some(value) => scalar(&value),
    }
}

/// What a dotted path names at the top level: the text before its first unescaped `.`,
/// with `\` escapes removed.
fn path_head(path: &str) -> Cow<'_, str> {
    let end = path.find(['.', '\\']).unwrap_or(path.len());
    if path[end..].starts_with('.') || end == path.len() {
        return Cow::Borrowed(&path[..end]);
    }
    let mut head = String::new();
    let mut escaped = false;
    for c in path.chars() {
        match c {
            _ if escaped => {
                head.push(c);
                escaped = false;
            }
            '\\' => escaped = true,
            '.' => break,
            _ => head.push(c),
        }
    }
    Cow::Owned(head)
}

/// The conjuncts of a top-level `and` (nested `and`s flattened), or the expression alone.
fn conjuncts(expr: &Expr) -> Vec<&Expr> {
    match expr {
        Expr::Operation { op, args } if op.eq_ignore_ascii_case("and") => {
            args.iter().flat_map(|arg| conjuncts(arg)).collect()
        }
        other => vec![other],
    }
}

/// Whether an expression names the property `name` (`properties.` prefix allowed).
fn is_property(expr: &Expr, name: &str) -> bool {
    matches!(expr, Expr::Property { property }
        if property.strip_prefix("properties.").unwrap_or(property) == name)
}

/// A planar box every Item matching the filter intersects: the bbox of the literal of the
/// first intersecting spatial predicate on `geometry` in the top-level `and`. Planar as the
/// `cql2` crate evaluates literals (a BBOX with west > east is not read as crossing).
pub fn envelope(expr: &Expr) -> Option<Bbox> {
    conjuncts(expr).into_iter().find_map(|conjunct| {
        let Expr::Operation { op, args } = conjunct else {
            return None;
        };
        if !INTERSECTING_SPATIAL.contains(&op.to_ascii_lowercase().as_str()) {
            return None;
        }
        match args.as_slice() {
            [a, b] if is_property(a, "geometry") => literal_box(b),
            [a, b] if is_property(b, "geometry") => literal_box(a),
            _ => None,
        }
    })
}

/// The planar bbox of a literal geometry or BBOX.
fn literal_box(expr: &Expr) -> Option<Bbox> {
    match expr {
        Expr::BBox { bbox } => {
            let numbers: Vec<f64> = bbox
                .iter()
                .map(|n| match n.as_ref() {
                    Expr::Float(n) if n.is_finite() => Some(*n),
                    _ => None,
                })
                .collect::<Option<_>>()?;
            let (x1, y1, x2, y2) = match *numbers.as_slice() {
                [a, b, c, d] => (a, b, c, d),
                [a, b, _, d, e, _] => (a, b, d, e),
                _ => return None,
            };
            Some(Bbox {
                west: x1.min(x2),
                south: y1.min(y2),
                east: x1.max(x2),
                north: y1.max(y2),
            })
        }
        Expr::Geometry(literal) => {
            let json = serde_json::to_value(literal).ok()?;
            Bbox::of_geometry(&geometry::from_geojson(&json).ok()?)
        }
        _ => None,
    }
}

/// Inclusive bounds every matching Item's `datetime` property lies in: from comparisons of
/// `datetime` with timestamps, `between`, and temporal predicates with literal instants or
/// intervals in the top-level `and`. `None` when the filter says nothing of `datetime`.
pub fn datetime_bounds(expr: &Expr) -> Option<Interval> {
    let mut bounds: Option<Interval> = None;
    for conjunct in conjuncts(expr) {
        if let Some(found) = conjunct_bounds(conjunct) {
            let current = bounds.get_or_insert(Interval {
                start: None,
                end: None,
            });
            current.start = current.start.max(found.start);
            current.end = match (current.end, found.end) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
        }
    }
    bounds
}

/// The bounds one conjunct puts on `datetime`.
fn conjunct_bounds(expr: &Expr) -> Option<Interval> {
    let Expr::Operation { op, args } = expr else {
        return None;
    };
    let op = op.to_ascii_lowercase();
    let open = Interval {
        start: None,
        end: None,
    };
    // Put `datetime` first, turning the operator round when it came second.
    let (other, op) = match args.as_slice() {
        [a, b] if is_property(a, "datetime") => (b, op),
        [a, b] if is_property(b, "datetime") => {
            let flipped = match op.as_str() {
                "<" => ">",
                "<=" => ">=",
                ">" => "<",
                ">=" => "<=",
                "t_before" => "t_after",
                "t_after" => "t_before",
                other => other,
            };
            (a, flipped.to_string())
        }
        [a, low, high] if op == "between" && is_property(a, "datetime") => {
            return Some(Interval {
                start: literal_instant(low),
                end: literal_instant(high),
            });
        }
        _ => return None,
    };
    let literal = literal_interval(other)?;
    match op.as_str() {
        "=" => Some(literal),
        "<" | "<=" => Some(Interval {
            end: literal.end,
            ..open
        }),
        ">" | ">=" => Some(Interval {
            start: literal.start,
            ..open
        }),
        "t_before" => Some(Interval {
            end: literal.start,
            ..open
        }),
        "t_after" => Some(Interval {
            start: literal.end,
            ..open
        }),
        op if INTERSECTING_TEMPORAL.contains(&op) => Some(literal),
        _ => None,
    }
}

/// A literal timestamp or interval as inclusive bounds; `None` when not a literal. Dates
/// (whole days) give no bound, which is always safe.
fn literal_interval(expr: &Expr) -> Option<Interval> {
    match expr {
        Expr::Timestamp { .. } => {
            let at = literal_instant(expr)?;
            Some(Interval {
                start: Some(at),
                end: Some(at),
            })
        }
        Expr::Interval { interval } => match interval.as_slice() {
            [start, end] => Some(Interval {
                start: literal_instant(start),
                end: literal_instant(end),
            }),
            _ => None,
        },
        _ => None,
    }
}

/// The instant of a `TIMESTAMP('…')` or a plain string literal; `None` for `..`, dates and
/// anything else (an open bound).
fn literal_instant(expr: &Expr) -> Option<DateTime<Utc>> {
    match expr {
        Expr::Timestamp { timestamp } => literal_instant(timestamp),
        Expr::Literal(text) => instant(text).ok(),
        _ => None,
    }
}

/// The cheap pre-check of [`datetime_bounds`]: false only when the Item's `datetime` is
/// surely outside them (absent or null, or a readable instant out of bounds); a value this
/// index cannot read is left to the exact evaluation.
pub fn datetime_may_match(bounds: &Interval, item: &IndexedItem) -> bool {
    match item.property("datetime") {
        None | Some(Value::Null) => false,
        Some(Value::String(text)) => match instant(&text) {
            Ok(at) => bounds.overlaps(&Interval {
                start: Some(at),
                end: Some(at),
            }),
            Err(_) => true,
        },
        Some(_) => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(filter: &str) -> Expr {
        cql2::parse_text(filter).unwrap()
    }

    fn at(text: &str) -> Option<DateTime<Utc>> {
        Some(instant(text).unwrap())
    }

    /// The evaluation on the whole Item JSON, as it was before [`matches`] narrowed it.
    fn on_whole_item(expr: &Expr, item: &IndexedItem) -> bool {
        let mut json = item.to_map();
        json.entry("id")
            .or_insert_with(|| Value::String(item.id.clone()));
        json.entry("collection")
            .or_insert_with(|| Value::String(item.collection.to_string()));
        expr.clone()
            .matches(Some(&Value::Object(json)))
            .unwrap_or(false)
    }

    #[test]
    fn matches_as_on_the_whole_item() {
        let body = serde_json::json!({
            "type": "Feature",
            "id": "i1",
            "geometry": {"type": "Point", "coordinates": [5.0, 6.0]},
            "bbox": [5.0, 6.0, 5.0, 6.0],
            "properties": {"datetime": "2020-01-02T00:00:00Z", "n": 5, "eo:cloud_cover": 10,
                "tile": "t7", "a.b": 1, "nested": {"x": 2}, "shadowed": 3, "flag": false},
            "assets": {"data": {"href": "x.tif", "roles": ["data"]}},
            "shadowed": null,
            "flag": true,
        });
        let item = IndexedItem::new(crate::mapping::MappedItem {
            collection: "c".into(),
            id: "i1".into(),
            item: body.as_object().cloned().unwrap(),
            shared_properties: Default::default(),
            footprint: None,
            assets: Default::default(),
            links: Vec::new(),
        });
        for filter in [
            "n > 1",
            "n > 7",
            "\"eo:cloud_cover\" < 20 AND tile = 't7'",
            "properties.n = 5",
            "nested.x = 2",
            "properties.nested.x = 3",
            "id = 'i1' AND collection = 'c'",
            "collection = 'd'",
            "S_INTERSECTS(geometry, BBOX(0, 0, 10, 10))",
            "S_INTERSECTS(geometry, BBOX(20, 0, 30, 10))",
            "datetime > TIMESTAMP('2020-01-01T00:00:00Z')",
            "missing IS NULL",
            "missing = 1 OR n = 5",
            "NOT (n = 5)",
            "tile IN ('t1', 't7')",
            "tile LIKE 't%'",
            "assets.data.href = 'x.tif'",
            "type = 'Feature'",
            "shadowed = 3",
            "flag = true",
            "n IS NULL",
            "n BETWEEN 1 AND 9 AND tile <> 'x'",
            "\"a.b\" = 1",
            "S_INTERSECTS(geometry, BBOX(0, 0, 10, 10)) AND n = 5",
        ] {
            let expr = text(filter);
            assert_eq!(
                matches(&expr, &item),
                on_whole_item(&expr, &item),
                "{filter}"
            );
        }
        assert!(matches(&text("n = 5 AND tile = 't7'"), &item));
        assert_eq!(path_head("a\\.b.c"), "a.b");
        assert_eq!(path_head("a.b"), "a");
        assert_eq!(path_head("eo:cloud_cover"), "eo:cloud_cover");
    }

    #[test]
    fn reads_the_envelope_of_spatial_conjuncts() {
        let envelope = |filter: &str| envelope(&text(filter));
        let b = envelope("S_INTERSECTS(geometry, BBOX(10, 20, 0, 30)) AND id = 'x'").unwrap();
        assert_eq!((b.west, b.south, b.east, b.north), (0.0, 20.0, 10.0, 30.0));
        let b = envelope("n > 1 AND S_CONTAINS(POLYGON((0 0, 4 0, 4 5, 0 0)), geometry)").unwrap();
        assert_eq!((b.west, b.east, b.north), (0.0, 4.0, 5.0));
        assert!(envelope("S_DISJOINT(geometry, BBOX(0, 0, 1, 1))").is_none());
        assert!(envelope("S_INTERSECTS(geometry, BBOX(0, 0, 1, 1)) OR n = 1").is_none());
        assert!(envelope("S_INTERSECTS(footprint, BBOX(0, 0, 1, 1))").is_none());
    }

    #[test]
    fn reads_datetime_bounds_of_temporal_conjuncts() {
        let bounds = |filter: &str| datetime_bounds(&text(filter));
        let b = bounds(
            "datetime >= TIMESTAMP('2020-01-02T00:00:00Z') AND \
             TIMESTAMP('2020-01-09T00:00:00Z') > properties.datetime",
        )
        .unwrap();
        assert_eq!(b.start, at("2020-01-02T00:00:00Z"));
        assert_eq!(b.end, at("2020-01-09T00:00:00Z"));
        let b = bounds("T_DURING(datetime, INTERVAL('..', '2020-03-01T00:00:00Z'))").unwrap();
        assert_eq!((b.start, b.end), (None, at("2020-03-01T00:00:00Z")));
        let b =
            bounds("T_AFTER(datetime, INTERVAL('2020-01-01T00:00:00Z', '2020-02-01T00:00:00Z'))")
                .unwrap();
        assert_eq!((b.start, b.end), (at("2020-02-01T00:00:00Z"), None));
        assert!(bounds("datetime <> TIMESTAMP('2020-01-01T00:00:00Z')").is_none());
        assert!(bounds("T_DISJOINT(datetime, TIMESTAMP('2020-01-01T00:00:00Z'))").is_none());
        assert!(bounds("datetime > TIMESTAMP('2020-01-01T00:00:00Z') OR id = 'x'").is_none());
    }
}
