//! Free-text search (`q`): case-insensitive substring match on ids, titles, descriptions
//! and keywords; several terms match when any one does.

use serde_json::{Map, Value};

/// The members of an Item's properties or a Collection that [`matches`] reads.
pub const FIELDS: &[&str] = &["title", "description", "keywords"];

/// Whether any term occurs, ignoring case, in `id` or in the `title`, `description` or
/// `keywords` of `fields` (an Item's properties or a Collection). Blank terms are ignored;
/// no term at all matches everything.
pub fn matches(terms: &[String], id: &str, fields: &Map<String, Value>) -> bool {
    let terms: Vec<String> = terms
        .iter()
        .map(|term| term.trim().to_lowercase())
        .filter(|term| !term.is_empty())
        .collect();
    if terms.is_empty() {
        return true;
    }
    let keywords = fields
        .get("keywords")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str);
    let texts: Vec<String> = [fields.get("title"), fields.get("description")]
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .chain(keywords)
        .chain([id])
        .map(str::to_lowercase)
        .collect();
    terms
        .iter()
        .any(|term| texts.iter().any(|text| text.contains(term.as_str())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn terms(list: &[&str]) -> Vec<String> {
        list.iter().map(|t| t.to_string()).collect()
    }

    #[test]
    fn matches_any_term_in_any_field_ignoring_case() {
        let fields = json!({"title": "Sentinel-2 L2A", "description": "Crops of Brittany",
            "keywords": ["PASTIS", "agriculture"], "other": "hidden"});
        let fields = fields.as_object().unwrap();
        assert!(matches(&terms(&["sentinel"]), "x", fields));
        assert!(matches(&terms(&["BRITTANY"]), "x", fields));
        assert!(matches(&terms(&["pastis"]), "x", fields));
        assert!(matches(&terms(&["nope", "AGRI"]), "x", fields));
        assert!(matches(&terms(&["tile-42"]), "Tile-42", fields));
        assert!(!matches(&terms(&["hidden"]), "x", fields));
        assert!(!matches(&terms(&["nope", "never"]), "x", fields));
        assert!(matches(&terms(&[" ", ""]), "x", fields));
    }
}
