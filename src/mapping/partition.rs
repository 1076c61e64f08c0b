//! Rule 3: a config that is a partition index (DESIGN §3.1), one Item per partition.
//!
//! A partition index is a top-level array of the config whose elements are objects that
//! name a layer of the manifest by digest (`layer_digest`, `layerDigest`, `digest`,
//! `layer`, `blob_digest`, `blobDigest`). An array named `patches`, `tiles`, `partitions`
//! or `chips` is taken as one even when its elements do not, so a malformed index is
//! an error rather than a silently generic Item. From each partition:
//! - id: `id`, else `<singular of the array>_id` (`patch_id`), else the only other
//!   `*_id`, else `tile`, else `name`; else the layer digest (`sha256-<16 hex>`);
//! - footprint: GeoJSON `geometry`, else a `bbox` array, else a `bounding_box` or
//!   `extent` object (`minx, miny, maxx, maxy`);
//! - CRS: the partition's `crs`/`epsg`, else a GeoJSON `crs` member of its geometry,
//!   else the config's top-level `crs`/`epsg`, else the source's `crs` option;
//! - time: `datetime`, else `start`/`end` (or `start_datetime`/`end_datetime`), else
//!   `temporal_coverage` (`{start, end}`, or keyed by sensor: the union), else the
//!   artifact's `org.opencontainers.image.created`;
//! - every other member as an Item property; names STAC or this gateway reserves
//!   (`datetime`, `start_datetime`, `end_datetime`, `created`, `updated`, `oci:*`,
//!   `file:*`) get a `partition_` prefix. A per-sensor `temporal_coverage` is kept.

use std::rc::Rc;

use foldhash::{HashSet, HashSetExt};
use serde_json::{Map, Value};

use super::crs::Crs;
use super::draft::{Context, Draft};
use super::field::Field;
use super::geometry::{Geometry, bbox_from_array, bbox_from_object};
use super::ids::{digest_id, sanitize};
use super::provenance::CREATED;
use super::time::{Bound, ItemTime, parse_time};

/// Members naming a partition's layer by digest.
const DIGEST_KEYS: [&str; 6] = [
    "layer_digest",
    "layerDigest",
    "digest",
    "layer",
    "blob_digest",
    "blobDigest",
];
/// Array names taken as a partition index whatever their elements.
const INDEX_NAMES: [&str; 4] = ["patches", "tiles", "partitions", "chips"];
/// Config members that are OCI boilerplate or consumed here, not Collection fields.
pub const CONFIG_CONSUMED: [&str; 5] =
    ["schemaVersion", "mediaType", "artifactType", "crs", "epsg"];
/// Partition members consumed into the layer, footprint and CRS.
const CONSUMED: [&str; 11] = [
    "geometry",
    "bbox",
    "bounding_box",
    "extent",
    "crs",
    "epsg",
    "datetime",
    "start",
    "end",
    "layer_mediaType",
    "layer_media_type",
];
/// Property names a partition member may not take as they are.
const RESERVED: [&str; 5] = [
    "datetime",
    "start_datetime",
    "end_datetime",
    "created",
    "updated",
];

/// The name of the config's partition array, when the config is a partition index;
/// an error when two arrays qualify.
pub fn find(config: &Value) -> Result<Option<&str>, String> {
    let Some(object) = config.as_object() else {
        return Ok(None);
    };
    if let Some((name, _)) = object
        .iter()
        .find(|(name, v)| INDEX_NAMES.contains(&name.as_str()) && !v.is_array() && !v.is_null())
    {
        return Err(format!("config: {name:?} must be an array of partitions"));
    }
    let mut found = object.iter().filter_map(|(name, value)| {
        let elements = value.as_array()?;
        let names_layer = |e: &Value| {
            DIGEST_KEYS
                .iter()
                .any(|k| e.get(k).is_some_and(Value::is_string))
        };
        let qualifies = elements.iter().any(names_layer)
            || (INDEX_NAMES.contains(&name.as_str()) && !elements.is_empty());
        qualifies.then_some(name.as_str())
    });
    match (found.next(), found.next()) {
        (Some(first), Some(second)) => Err(format!(
            "config: ambiguous partition index, both {first:?} and {second:?} list partitions"
        )),
        (first, _) => Ok(first),
    }
}

/// Rule 3 on a parsed config: `None` when it is not a partition index.
pub fn map(ctx: &mut Context<'_>, config: &Value) -> Option<Result<Vec<Draft>, String>> {
    let name = match find(config) {
        Ok(Some(name)) => name,
        Ok(None) => return None,
        Err(e) => return Some(Err(e)),
    };
    let partitions = config.get(name).and_then(Value::as_array)?;
    Some(map_partitions(ctx, config, name, partitions))
}

fn map_partitions(
    ctx: &mut Context<'_>,
    config: &Value,
    name: &str,
    partitions: &[Value],
) -> Result<Vec<Draft>, String> {
    let config_crs = crs_name(config, Field::Root("config"))?;
    let singular = name
        .strip_suffix("es")
        .filter(|s| s.ends_with("ch"))
        .or_else(|| name.strip_suffix('s'))
        .unwrap_or(name);
    let own_id = format!("{singular}_id");
    let array = Field::Root(name);
    let mut seen = HashSet::with_capacity(partitions.len());
    let mut drafts = Vec::with_capacity(partitions.len());
    for (i, partition) in partitions.iter().enumerate() {
        let field = array.index(i);
        let draft = map_partition(ctx, partition, field, &own_id, config_crs.as_deref())?;
        if !seen.insert(draft.key.clone()) {
            return Err(format!(
                "{field}: names the same layer as an earlier partition"
            ));
        }
        drafts.push(draft);
    }
    Ok(drafts)
}

fn map_partition(
    ctx: &mut Context<'_>,
    partition: &Value,
    field: Field<'_>,
    own_id: &str,
    config_crs: Option<&str>,
) -> Result<Draft, String> {
    let object = partition
        .as_object()
        .ok_or_else(|| format!("{field}: not an object"))?;
    let (digest_key, digest) = DIGEST_KEYS
        .iter()
        .find_map(|k| object.get(*k).map(|v| (*k, v)))
        .ok_or_else(|| format!("{field}: names no layer (expected layer_digest)"))?;
    let digest = digest
        .as_str()
        .ok_or_else(|| format!("{field}.{digest_key}: not a string"))?;
    let layer = ctx
        .layer(digest)
        .ok_or_else(|| format!("{field}.{digest_key}: {digest} is not a layer of the manifest"))?;

    let (id_key, id) = match find_id(object, own_id, field)? {
        Some((key, id)) => (Some(key), id),
        None => (None, digest_id(digest)),
    };
    let mut draft = Draft::new(ctx, id, format!("layer:{digest}"), digest);

    let crs = match crs_name(partition, field)?
        .or(geometry_crs_name(object.get("geometry"), field)?)
        .or(config_crs.map(str::to_owned))
        .or(ctx.options.crs.clone())
    {
        Some(crs_name) => Some(ctx.crs(&crs_name, field.member("crs"))?),
        None => None,
    };
    draft.set_footprint(footprint(object, field, crs)?);
    draft.set_time(time(ctx, object, field)?);

    for (key, value) in object {
        let consumed = CONSUMED.contains(&key.as_str())
            || key == digest_key
            || Some(key.as_str()) == id_key
            || (key == "temporal_coverage" && value.get("start").is_some())
            || ["start_datetime", "end_datetime"].contains(&key.as_str());
        if consumed {
            continue;
        }
        let reserved =
            RESERVED.contains(&key.as_str()) || key.starts_with("oci:") || key.starts_with("file:");
        let property = if reserved {
            format!("partition_{key}")
        } else {
            key.clone()
        };
        draft.properties.insert(property, value.clone());
    }
    draft.add_layer_asset(ctx, "data", layer, Map::new());
    Ok(draft)
}

/// The partition's id member and its URL-safe value; `own_id` is `<singular>_id`.
fn find_id<'o>(
    object: &'o Map<String, Value>,
    own_id: &str,
    field: Field<'_>,
) -> Result<Option<(&'o str, String)>, String> {
    let mut others = object.keys().filter(|k| k.ends_with("_id") && *k != own_id);
    let only_other = match (others.next(), others.next()) {
        (Some(only), None) => Some(only.as_str()),
        _ => None,
    };
    let key = ["id", own_id]
        .into_iter()
        .chain(only_other)
        .chain(["tile", "name"])
        .find_map(|k| object.get_key_value(k));
    let Some((key, value)) = key else {
        return Ok(None);
    };
    let id = match value {
        Value::String(s) => sanitize(s),
        Value::Number(n) => sanitize(&n.to_string()),
        _ => None,
    }
    .ok_or_else(|| format!("{field}.{key}: not a usable id (a non-empty string or a number)"))?;
    Ok(Some((key.as_str(), id)))
}

/// A `crs` or `epsg` member: a name, a code, or a GeoJSON 2008 named CRS object.
fn crs_name(value: &Value, field: Field<'_>) -> Result<Option<String>, String> {
    let named = value
        .get("crs")
        .map(|v| (v, "crs"))
        .or_else(|| value.get("epsg").map(|v| (v, "epsg")));
    let Some((crs, key)) = named else {
        return Ok(None);
    };
    match crs {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s.clone())),
        Value::Number(n) if n.is_u64() => Ok(Some(format!("EPSG:{n}"))),
        Value::Object(_) => crs
            .pointer("/properties/name")
            .or_else(|| crs.pointer("/properties/code"))
            .and_then(|name| match name {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(format!("EPSG:{n}")),
                _ => None,
            })
            .map(Some)
            .ok_or_else(|| {
                format!("{field}.{key}: expected a GeoJSON named CRS (properties.name)")
            }),
        _ => Err(format!(
            "{field}.{key}: expected a CRS name such as \"EPSG:2154\""
        )),
    }
}

fn geometry_crs_name(geometry: Option<&Value>, field: Field<'_>) -> Result<Option<String>, String> {
    match geometry {
        Some(geometry) if geometry.get("crs").is_some() => {
            crs_name(geometry, field.member("geometry"))
        }
        _ => Ok(None),
    }
}

/// The partition's footprint in lon/lat.
fn footprint(
    object: &Map<String, Value>,
    field: Field<'_>,
    crs: Option<Rc<Crs>>,
) -> Result<Option<Geometry>, String> {
    // Densify bbox edges only when reprojecting: straight edges bend.
    let segments = if crs.as_deref().is_some_and(|c| !c.is_lon_lat()) {
        8
    } else {
        1
    };
    let (mut geometry, source) = if let Some(g) = object.get("geometry").filter(|g| !g.is_null()) {
        (
            Geometry::from_json(g, field.member("geometry"))?,
            "geometry",
        )
    } else if let Some(b) = object.get("bbox").filter(|b| !b.is_null()) {
        (
            Geometry::from_bbox(bbox_from_array(b, field.member("bbox"))?, segments),
            "bbox",
        )
    } else if let Some((key, b)) = ["bounding_box", "extent"]
        .iter()
        .find_map(|k| object.get(*k).map(|b| (*k, b)))
    {
        (
            Geometry::from_bbox(bbox_from_object(b, field.member(key))?, segments),
            key,
        )
    } else {
        return Ok(None);
    };
    geometry.reproject(crs.as_deref(), field.member(source))?;
    Ok(Some(geometry))
}

/// The partition's time (see the module docs for the spellings).
fn time(
    ctx: &Context<'_>,
    object: &Map<String, Value>,
    field: Field<'_>,
) -> Result<ItemTime, String> {
    if let Some(datetime) = object.get("datetime").filter(|d| !d.is_null()) {
        return parse_time(datetime, Bound::Start, field.member("datetime")).map(ItemTime::Instant);
    }
    for (start, end) in [("start", "end"), ("start_datetime", "end_datetime")] {
        if object.contains_key(start) || object.contains_key(end) {
            return period(object, start, end, field);
        }
    }
    if let Some(coverage) = object.get("temporal_coverage") {
        let field = field.member("temporal_coverage");
        let coverage_object = coverage
            .as_object()
            .ok_or_else(|| format!("{field}: not an object"))?;
        if coverage_object.contains_key("start") || coverage_object.contains_key("end") {
            return period(coverage_object, "start", "end", field);
        }
        // Keyed by sensor: the union of every sensor's period.
        let mut union: Option<(_, _)> = None;
        for (sensor, value) in coverage_object {
            let sensor_field = field.member(sensor);
            let sensor_object = value
                .as_object()
                .ok_or_else(|| format!("{sensor_field}: not an object"))?;
            let (start, end) = period(sensor_object, "start", "end", sensor_field)?
                .interval()
                .ok_or_else(|| format!("{sensor_field}: no period"))?;
            union = Some(match union {
                Some((s, e)) => (start.min(s), end.max(e)),
                None => (start, end),
            });
        }
        let (start, end) = union.ok_or_else(|| format!("{field}: empty"))?;
        return ItemTime::range(start, end, field);
    }
    match ctx.artifact.annotations.get(CREATED) {
        Some(created) => parse_time(
            &Value::String(created.clone()),
            Bound::Start,
            Field::Root("annotations").member(CREATED),
        )
        .map(ItemTime::Instant),
        None => Ok(ItemTime::Unknown),
    }
}

fn period(
    object: &Map<String, Value>,
    start: &str,
    end: &str,
    field: Field<'_>,
) -> Result<ItemTime, String> {
    let get = |key: &str| {
        object
            .get(key)
            .ok_or_else(|| format!("{field}.{key}: missing"))
    };
    ItemTime::range(
        parse_time(get(start)?, Bound::Start, field.member(start))?,
        parse_time(get(end)?, Bound::End, field.member(end))?,
        field,
    )
}
