//! Queryables (OGC API Features Part 3): a JSON Schema of what filters can name, derived
//! once per snapshot from the indexed Items' properties and their JSON types.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value, json};

use std::sync::Arc;

use super::IndexedItem;
use crate::mapping::MappedCollection;

/// The GeoJSON geometry schema a queryable `geometry` refers to.
const GEOMETRY_SCHEMA: &str = "https://geojson.org/schema/Geometry.json";

/// Properties read as RFC 3339 date-times.
const DATETIMES: [&str; 3] = ["datetime", "start_datetime", "end_datetime"];

/// The queryables documents of one snapshot: global and per collection.
#[derive(Debug, Default)]
pub struct Queryables {
    /// Over every Item.
    global: Value,
    /// Per collection id, for every known collection.
    by_collection: BTreeMap<String, Value>,
    /// What each collection's Items hold, to derive schemas over some collections.
    seen_by_collection: BTreeMap<String, Seen>,
}

/// Property name → the JSON types seen for it.
type Seen = BTreeMap<String, BTreeSet<&'static str>>;

impl Queryables {
    /// Collects the properties of `items` (sorted by collection) for `collections`.
    pub fn build(collections: &[MappedCollection], items: &[Arc<IndexedItem>]) -> Queryables {
        let mut global = Seen::new();
        let mut per: BTreeMap<&str, Seen> = collections
            .iter()
            .map(|c| (c.id.as_str(), Seen::new()))
            .collect();
        // Each collection's Items are noted once, then merged into the global schema.
        for run in items.chunk_by(|a, b| a.collection == b.collection) {
            let mut seen = Seen::new();
            for item in run {
                for (name, text) in item.json().property_texts() {
                    if let Some(kind) = json_type(text) {
                        note(&mut seen, &name, kind);
                    }
                }
            }
            merge(&mut global, &seen);
            if let Some(collection) = per.get_mut(&*run[0].collection) {
                merge(collection, &seen);
            }
        }
        Queryables {
            global: schema("Queryables", &global),
            by_collection: per
                .iter()
                .map(|(id, seen)| (id.to_string(), schema(&format!("Queryables of {id}"), seen)))
                .collect(),
            seen_by_collection: per
                .into_iter()
                .map(|(id, seen)| (id.to_string(), seen))
                .collect(),
        }
    }

    /// The schema over the Items of `collections` only (what one reader may see).
    pub fn over(&self, collections: &BTreeSet<String>) -> Value {
        let mut merged = Seen::new();
        for seen in collections
            .iter()
            .filter_map(|id| self.seen_by_collection.get(id))
        {
            merge(&mut merged, seen);
        }
        schema("Queryables", &merged)
    }

    /// The schema over every Item, or over one collection's (`None` when unknown).
    pub fn get(&self, collection: Option<&str>) -> Option<&Value> {
        match collection {
            None => Some(&self.global),
            Some(id) => self.by_collection.get(id),
        }
    }
}

/// The JSON Schema type of a value, from its JSON text; `None` for null.
fn json_type(text: &[u8]) -> Option<&'static str> {
    Some(match text.first()? {
        b'n' => return None,
        b't' | b'f' => "boolean",
        b'"' => "string",
        b'[' => "array",
        b'{' => "object",
        _ => match serde_json::from_slice::<serde_json::Number>(text).ok()? {
            n if n.is_i64() || n.is_u64() => "integer",
            _ => "number",
        },
    })
}

/// Notes that property `name` was seen holding a value of `kind`.
fn note(seen: &mut Seen, name: &str, kind: &'static str) {
    match seen.get_mut(name) {
        Some(kinds) => {
            kinds.insert(kind);
        }
        None => {
            seen.insert(name.to_owned(), BTreeSet::from([kind]));
        }
    }
}

/// Adds what `seen` holds to `into`.
fn merge(into: &mut Seen, seen: &Seen) {
    for (name, kinds) in seen {
        into.entry(name.clone())
            .or_default()
            .extend(kinds.iter().copied());
    }
}

/// A draft 2019-09 schema: `id`, `collection`, `geometry`, the date-times, then every other
/// property seen, by name. `$id` is left for the API to set.
fn schema(title: &str, seen: &Seen) -> Value {
    let mut properties = Map::new();
    properties.insert("id".into(), json!({"title": "Item id", "type": "string"}));
    properties.insert(
        "collection".into(),
        json!({"title": "Collection id", "type": "string"}),
    );
    properties.insert(
        "geometry".into(),
        json!({"title": "Footprint", "$ref": GEOMETRY_SCHEMA}),
    );
    for name in DATETIMES {
        if seen.contains_key(name) || name == "datetime" {
            properties.insert(
                name.into(),
                json!({"type": "string", "format": "date-time"}),
            );
        }
    }
    for (name, kinds) in seen {
        if DATETIMES.contains(&name.as_str()) || properties.contains_key(name) {
            continue;
        }
        properties.insert(name.clone(), json!({"type": type_of(kinds)}));
    }
    json!({
        "$schema": "https://json-schema.org/draft/2019-09/schema",
        "type": "object",
        "title": title,
        "properties": properties,
        "additionalProperties": true,
    })
}

/// One type name, or a list when values differ; integers seen with other numbers are numbers.
fn type_of(kinds: &BTreeSet<&'static str>) -> Value {
    let mut kinds = kinds.clone();
    if kinds.contains("number") {
        kinds.remove("integer");
    }
    match kinds.len() {
        1 => kinds
            .into_iter()
            .map(Value::from)
            .next()
            .unwrap_or(Value::Null),
        _ => kinds.into_iter().map(Value::from).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::Snapshot;
    use crate::mapping::MappedItem;

    fn item(collection: &str, id: &str, properties: Value) -> MappedItem {
        MappedItem {
            collection: collection.into(),
            id: id.into(),
            item: json!({"properties": properties})
                .as_object()
                .cloned()
                .unwrap(),
            shared_properties: Default::default(),
            footprint: None,
            assets: BTreeMap::new(),
            links: Vec::new(),
        }
    }

    fn collection(id: &str) -> MappedCollection {
        MappedCollection {
            id: id.into(),
            collection: Map::new(),
        }
    }

    #[test]
    fn derives_types_per_collection_and_globally() {
        let snapshot = Snapshot::build(
            vec![collection("a"), collection("b"), collection("empty")],
            vec![
                item(
                    "a",
                    "1",
                    json!({"datetime": "2020-01-01T00:00:00Z", "eo:cloud_cover": 3,
                    "platform": "s2", "ok": true, "tags": ["x"], "nested": {"k": 1}}),
                ),
                item("a", "2", json!({"eo:cloud_cover": 3.5, "platform": null})),
                item(
                    "b",
                    "3",
                    json!({"start_datetime": "2020-01-01T00:00:00Z", "n": 1,
                    "mixed": 1}),
                ),
                item("b", "4", json!({"mixed": "one"})),
            ],
        );
        let a = snapshot.queryables(Some("a")).unwrap();
        assert_eq!(a["$schema"], "https://json-schema.org/draft/2019-09/schema");
        assert_eq!(a["type"], "object");
        assert_eq!(a["additionalProperties"], true);
        let props = &a["properties"];
        assert_eq!(props["eo:cloud_cover"]["type"], "number");
        assert_eq!(props["platform"]["type"], "string");
        assert_eq!(props["ok"]["type"], "boolean");
        assert_eq!(props["tags"]["type"], "array");
        assert_eq!(props["nested"]["type"], "object");
        assert_eq!(props["datetime"]["format"], "date-time");
        assert_eq!(props["geometry"]["$ref"], GEOMETRY_SCHEMA);
        assert_eq!(props["id"]["type"], "string");
        assert!(props.get("n").is_none() && props.get("start_datetime").is_none());
        let b = snapshot.queryables(Some("b")).unwrap();
        assert_eq!(b["properties"]["n"]["type"], "integer");
        assert_eq!(
            b["properties"]["mixed"]["type"],
            json!(["integer", "string"])
        );
        assert_eq!(b["properties"]["start_datetime"]["type"], "string");
        let global = snapshot.queryables(None).unwrap();
        assert_eq!(global["properties"]["n"]["type"], "integer");
        assert_eq!(global["properties"]["ok"]["type"], "boolean");
        let empty = snapshot.queryables(Some("empty")).unwrap();
        assert_eq!(empty["properties"]["collection"]["type"], "string");
        assert!(snapshot.queryables(Some("nope")).is_none());
    }
}
