//! Rule 5: any other artifact (empty config, BagIt, Helm chart, a model) as one Item.
//!
//! - id: `sha256-<first 16 hex of the manifest digest>`;
//! - footprint: the manifest annotation `org.stacspec.geometry` (a GeoJSON geometry) or
//!   `org.stacspec.bbox` (`"minx,miny,maxx,maxy"`), in the CRS named by `org.stacspec.crs`,
//!   else the source's `crs` option, else lon/lat; else `geometry: null` and no bbox;
//! - time: `org.opencontainers.image.created`, else the image config's `created`, else
//!   unknown (see [`ItemTime::Unknown`]);
//! - `title`/`description` from `org.opencontainers.image.title`/`.description`;
//! - one asset per layer, keyed by its file name.

use serde_json::{Map, Value};

use super::draft::{Context, Draft};
use super::field::Field;
use super::geometry::{Geometry, bbox_from_array};
use super::ids::digest_id;
use super::provenance::{CREATED, DESCRIPTION, TITLE, file_name};
use super::time::{Bound, ItemTime, parse_time};

/// Annotation holding a GeoJSON geometry.
pub const GEOMETRY_ANNOTATION: &str = "org.stacspec.geometry";
/// Annotation holding a bbox `minx,miny,maxx,maxy`.
pub const BBOX_ANNOTATION: &str = "org.stacspec.bbox";
/// Annotation naming the CRS of the two above.
pub const CRS_ANNOTATION: &str = "org.stacspec.crs";

/// Rule 5: always matches.
pub fn map(ctx: &mut Context<'_>, config: Option<&Value>) -> Result<Draft, String> {
    let artifact = ctx.artifact;
    let mut draft = Draft::new(
        ctx,
        digest_id(&artifact.digest),
        format!("manifest:{}#0", artifact.digest),
        &artifact.digest,
    );
    for (annotation, property) in [(TITLE, "title"), (DESCRIPTION, "description")] {
        if let Some(text) = artifact.annotations.get(annotation) {
            draft
                .properties
                .insert(property.to_owned(), Value::String(text.clone()));
        }
    }

    let has_footprint = [GEOMETRY_ANNOTATION, BBOX_ANNOTATION]
        .iter()
        .any(|a| artifact.annotations.contains_key(*a));
    let crs = match (artifact.annotations.get(CRS_ANNOTATION), &ctx.options.crs) {
        _ if !has_footprint => None,
        (Some(name), _) => Some(ctx.crs(name, Field::Root("annotations").member(CRS_ANNOTATION))?),
        (None, Some(name)) => Some(ctx.crs(name, Field::Root("source crs"))?),
        (None, None) => None,
    };
    let footprint = if let Some(geometry) = artifact.annotations.get(GEOMETRY_ANNOTATION) {
        let field = format!("annotations.{GEOMETRY_ANNOTATION}");
        let value: Value =
            serde_json::from_str(geometry).map_err(|e| format!("{field}: not JSON: {e}"))?;
        Some((Geometry::from_json(&value, Field::Root(&field))?, field))
    } else if let Some(bbox) = artifact.annotations.get(BBOX_ANNOTATION) {
        let field = format!("annotations.{BBOX_ANNOTATION}");
        let numbers: Vec<Value> = bbox
            .split(',')
            .map(|n| n.trim().parse::<f64>().map(Value::from))
            .collect::<Result<_, _>>()
            .map_err(|_| format!("{field}: expected \"minx,miny,maxx,maxy\""))?;
        let bbox = bbox_from_array(&Value::Array(numbers), Field::Root(&field))?;
        // Densify the edges only when reprojecting: straight edges bend.
        let segments = if crs.as_deref().is_some_and(|c| !c.is_lon_lat()) {
            8
        } else {
            1
        };
        Some((Geometry::from_bbox(bbox, segments), field))
    } else {
        None
    };
    if let Some((mut geometry, field)) = footprint {
        geometry.reproject(crs.as_deref(), Field::Root(&field))?;
        draft.set_footprint(Some(geometry));
    }

    let created = match (
        artifact.annotations.get(CREATED),
        config.and_then(|c| c.get("created")),
    ) {
        (Some(created), _) => Some(parse_time(
            &Value::String(created.clone()),
            Bound::Start,
            Field::Root("annotations").member(CREATED),
        )?),
        (None, Some(created)) => Some(parse_time(
            created,
            Bound::Start,
            Field::Root("config.created"),
        )?),
        (None, None) => None,
    };
    draft.set_time(created.map_or(ItemTime::Unknown, ItemTime::Instant));

    for layer in &artifact.layers {
        draft.add_layer_asset(ctx, &file_name(layer), layer, Map::new());
    }
    Ok(draft)
}
