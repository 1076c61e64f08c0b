//! Rules 1 and 2: a config that is a STAC Item, or an ItemCollection of STAC Items.
//! Also maps any STAC Item document for rule 4 ([`super::layer_item`]).

use serde_json::{Map, Value};

use super::draft::{Context, Draft};
use super::field::Field;
use super::geometry::{Geometry, bbox_from_array};
use super::ids::sanitize;
use super::time::stac_item_time;

/// Whether a document is a STAC Item: `"type": "Feature"` with `stac_version`.
pub fn is_stac_item(value: &Value) -> bool {
    value.get("type").and_then(Value::as_str) == Some("Feature")
        && value.get("stac_version").is_some()
}

/// The features of a FeatureCollection (an ItemCollection) that holds at least one STAC Item.
pub fn item_collection_features(value: &Value) -> Option<&Vec<Value>> {
    if value.get("type").and_then(Value::as_str) != Some("FeatureCollection") {
        return None;
    }
    value
        .get("features")
        .and_then(Value::as_array)
        .filter(|features| features.iter().any(is_stac_item))
}

/// Rules 1 and 2 on a parsed config: `None` when the config is neither.
pub fn map(ctx: &Context<'_>, config: &Value) -> Option<Result<Vec<Draft>, String>> {
    let origin = format!("manifest:{}", ctx.artifact.digest);
    if is_stac_item(config) {
        return Some(draft(ctx, config, &format!("{origin}#config"), "config").map(|d| vec![d]));
    }
    item_collection_features(config).map(|features| drafts(ctx, features, &origin, "config"))
}

/// Every feature of an ItemCollection as a Draft; any feature that is not a STAC Item
/// fails the whole document.
pub fn drafts(
    ctx: &Context<'_>,
    features: &[Value],
    origin: &str,
    field: &str,
) -> Result<Vec<Draft>, String> {
    features
        .iter()
        .enumerate()
        .map(|(i, feature)| {
            let field = format!("{field}.features[{i}]");
            if !is_stac_item(feature) {
                return Err(format!(
                    "{field}: not a STAC Item (type Feature with stac_version)"
                ));
            }
            draft(ctx, feature, &format!("{origin}#{field}"), &field)
        })
        .collect()
}

/// One STAC Item document as a Draft: its own id, properties, footprint and time, its
/// asset hrefs that name a layer bound to that layer, absolute hrefs kept as they are.
pub fn draft(ctx: &Context<'_>, value: &Value, key: &str, field: &str) -> Result<Draft, String> {
    let object = value
        .as_object()
        .ok_or_else(|| format!("{field}: not an object"))?;
    let id = match object.get("id") {
        Some(Value::String(id)) => sanitize(id),
        Some(Value::Number(n)) => sanitize(&n.to_string()),
        _ => None,
    }
    .ok_or_else(|| format!("{field}.id: missing, empty or not a string"))?;
    let mut draft = Draft::new(ctx, id, key.to_owned(), &ctx.artifact.digest);
    for (name, member) in object {
        let reserved = [
            "id",
            "type",
            "stac_version",
            "links",
            "collection",
            "properties",
            "assets",
            "geometry",
            "bbox",
        ];
        if !reserved.contains(&name.as_str()) {
            draft.item.insert(name.clone(), member.clone());
        }
    }

    let properties = object
        .get("properties")
        .and_then(Value::as_object)
        .ok_or_else(|| format!("{field}.properties: missing or not an object"))?;
    let item = Field::Root(field);
    let time = stac_item_time(properties, item.member("properties"))?;
    for (name, property) in properties {
        if !name.starts_with("oci:") {
            draft.properties.insert(name.clone(), property.clone());
        }
    }
    draft.set_time(time);

    let footprint = match (object.get("geometry"), object.get("bbox")) {
        (Some(geometry), _) if !geometry.is_null() => {
            Some(Geometry::from_json(geometry, item.member("geometry"))?)
        }
        (_, Some(bbox)) if !bbox.is_null() => Some(Geometry::from_bbox(
            bbox_from_array(bbox, item.member("bbox"))?,
            1,
        )),
        _ => None,
    };
    if let Some(mut geometry) = footprint {
        // STAC Items are lon/lat by definition (RFC 7946): check, never reproject.
        geometry.reproject(None, item.member("geometry"))?;
        draft.set_footprint(Some(geometry));
    }

    match object.get("assets") {
        None | Some(Value::Null) => {}
        Some(Value::Object(assets)) => {
            for (key, asset) in assets {
                add_asset(
                    ctx,
                    &mut draft,
                    key,
                    asset,
                    &format!("{field}.assets.{key}"),
                )?;
            }
        }
        Some(_) => return Err(format!("{field}.assets: not an object")),
    }
    Ok(draft)
}

fn add_asset(
    ctx: &Context<'_>,
    draft: &mut Draft,
    key: &str,
    asset: &Value,
    field: &str,
) -> Result<(), String> {
    let asset: Map<String, Value> = asset
        .as_object()
        .cloned()
        .ok_or_else(|| format!("{field}: not an object"))?;
    let href = asset
        .get("href")
        .and_then(Value::as_str)
        .ok_or_else(|| format!("{field}.href: missing or not a string"))?;
    if let Some(layer) = ctx.layer_for_href(href, &format!("{field}.href"))? {
        draft.add_layer_asset(ctx, key, layer, asset);
    } else if url::Url::parse(href).is_ok() {
        draft.add_external_asset(key, asset);
    } else {
        return Err(format!(
            "{field}.href: {href:?} names no layer of the manifest and is not an absolute URL"
        ));
    }
    Ok(())
}
