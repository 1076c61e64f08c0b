//! Footprints: GeoJSON geometries and bboxes, validated, reprojected vertex by vertex and
//! bounded.

use serde_json::{Map, Value};

use super::crs::{Crs, in_lon_lat_range};
use super::field::Field;

/// A position `[x, y]` (a third ordinate is dropped).
type Position = [f64; 2];

/// A GeoJSON geometry of the kinds footprints use.
#[derive(Debug, Clone, PartialEq)]
pub enum Geometry {
    /// `Point`.
    Point(Position),
    /// `MultiPoint` or `LineString`, by its type name.
    Line(&'static str, Vec<Position>),
    /// `Polygon` or `MultiLineString`, by its type name.
    Rings(&'static str, Vec<Vec<Position>>),
    /// `MultiPolygon`.
    MultiPolygon(Vec<Vec<Vec<Position>>>),
}

impl Geometry {
    /// Reads a GeoJSON geometry object, naming `field` in errors.
    pub fn from_json(value: &Value, field: Field<'_>) -> Result<Geometry, String> {
        let object = value
            .as_object()
            .ok_or_else(|| format!("{field}: not a GeoJSON object"))?;
        let kind = object
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let coordinates = object
            .get("coordinates")
            .ok_or_else(|| format!("{field}.coordinates: missing"))?;
        let field = field.member("coordinates");
        Ok(match kind {
            "Point" => Geometry::Point(position(coordinates, field)?),
            "MultiPoint" => Geometry::Line("MultiPoint", positions(coordinates, field, 1)?),
            "LineString" => Geometry::Line("LineString", positions(coordinates, field, 2)?),
            "MultiLineString" => Geometry::Rings("MultiLineString", nested(coordinates, field, 2)?),
            "Polygon" => Geometry::Rings("Polygon", nested(coordinates, field, 4)?),
            "MultiPolygon" => {
                let polygons = array(coordinates, field)?;
                Geometry::MultiPolygon(
                    polygons
                        .iter()
                        .enumerate()
                        .map(|(i, p)| nested(p, field.index(i), 4))
                        .collect::<Result<_, _>>()?,
                )
            }
            other => return Err(format!("{field}: unsupported geometry type {other:?}")),
        })
    }

    /// The rectangle polygon of a bbox `[minx, miny, maxx, maxy]`, its edges densified
    /// (`segments` per edge) so a reprojected outline follows curved edges.
    pub fn from_bbox([minx, miny, maxx, maxy]: [f64; 4], segments: usize) -> Geometry {
        let segments = segments.max(1);
        let corners = [
            [minx, miny],
            [maxx, miny],
            [maxx, maxy],
            [minx, maxy],
            [minx, miny],
        ];
        let mut ring = Vec::with_capacity(4 * segments + 1);
        for edge in corners.windows(2) {
            let ([x0, y0], [x1, y1]) = (edge[0], edge[1]);
            for step in 0..segments {
                let f = step as f64 / segments as f64;
                ring.push([x0 + (x1 - x0) * f, y0 + (y1 - y0) * f]);
            }
        }
        ring.push([minx, miny]);
        Geometry::Rings("Polygon", vec![ring])
    }

    fn positions_mut(&mut self) -> Box<dyn Iterator<Item = &mut Position> + '_> {
        match self {
            Geometry::Point(p) => Box::new(std::iter::once(p)),
            Geometry::Line(_, ps) => Box::new(ps.iter_mut()),
            Geometry::Rings(_, rings) => Box::new(rings.iter_mut().flatten()),
            Geometry::MultiPolygon(polygons) => Box::new(polygons.iter_mut().flatten().flatten()),
        }
    }

    /// Brings every vertex to lon/lat: reprojected from `crs` when one is named, else
    /// checked to be in lon/lat range (out of range with no CRS is an error naming `field`).
    pub fn reproject(&mut self, crs: Option<&Crs>, field: Field<'_>) -> Result<(), String> {
        for p in self.positions_mut() {
            *p = match crs {
                Some(crs) => crs.to_lon_lat(*p).map_err(|e| format!("{field}: {e}"))?,
                None if in_lon_lat_range(*p) => *p,
                None => {
                    return Err(format!(
                        "{field}: coordinates ({}, {}) are outside lon/lat range and no CRS is \
                         named (set the source's crs, or crs/epsg in the config)",
                        p[0], p[1]
                    ));
                }
            };
        }
        Ok(())
    }

    /// `[minx, miny, maxx, maxy]` over every vertex.
    pub fn bbox(&mut self) -> [f64; 4] {
        let mut bbox = [
            f64::INFINITY,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NEG_INFINITY,
        ];
        for &mut [x, y] in self.positions_mut() {
            bbox = [
                bbox[0].min(x),
                bbox[1].min(y),
                bbox[2].max(x),
                bbox[3].max(y),
            ];
        }
        bbox
    }

    /// Writes the GeoJSON object as compact JSON, its numbers as `serde_json` writes them
    /// (one that is not finite as `null`): a footprint is written for every Item.
    pub fn write_json(&self, out: &mut Vec<u8>) {
        let kind = match self {
            Geometry::Point(_) => "Point",
            Geometry::Line(kind, _) | Geometry::Rings(kind, _) => kind,
            Geometry::MultiPolygon(_) => "MultiPolygon",
        };
        out.extend_from_slice(b"{\"type\":\"");
        out.extend_from_slice(kind.as_bytes());
        out.extend_from_slice(b"\",\"coordinates\":");
        match self {
            Geometry::Point(p) => write_position(out, p),
            Geometry::Line(_, ps) => write_array(out, ps, write_position),
            Geometry::Rings(_, rings) => write_rings(out, rings),
            Geometry::MultiPolygon(polygons) => {
                write_array(out, polygons, |out, rings| write_rings(out, rings));
            }
        }
        out.push(b'}');
    }

    /// The same geometry as a `geo` type.
    pub fn to_geo(&self) -> geo::Geometry<f64> {
        let line = |ps: &[Position]| geo::LineString::from(ps.to_vec());
        let polygon = |rings: &[Vec<Position>]| {
            let mut rings = rings.iter().map(|ring| line(ring));
            let exterior = rings
                .next()
                .unwrap_or_else(|| geo::LineString::new(Vec::new()));
            geo::Polygon::new(exterior, rings.collect())
        };
        match self {
            Geometry::Point(p) => geo::Point::from(*p).into(),
            Geometry::Line("MultiPoint", ps) => {
                geo::MultiPoint::from(ps.iter().map(|p| geo::Point::from(*p)).collect::<Vec<_>>())
                    .into()
            }
            Geometry::Line(_, ps) => line(ps).into(),
            Geometry::Rings("Polygon", rings) => polygon(rings).into(),
            Geometry::Rings(_, lines) => {
                geo::MultiLineString::new(lines.iter().map(|ps| line(ps)).collect()).into()
            }
            Geometry::MultiPolygon(polygons) => {
                geo::MultiPolygon::new(polygons.iter().map(|rings| polygon(rings)).collect()).into()
            }
        }
    }
}

/// An Item's lon/lat footprint as mapped: written as its `geometry` and `bbox`.
#[derive(Debug, Clone, PartialEq)]
pub struct Footprint {
    /// The geometry, in lon/lat.
    pub geometry: Geometry,
    /// `[minx, miny, maxx, maxy]` over its vertices.
    pub bbox: [f64; 4],
}

fn write_position(out: &mut Vec<u8>, &[x, y]: &Position) {
    out.push(b'[');
    let _ = serde_json::to_writer(&mut *out, &x);
    out.push(b',');
    let _ = serde_json::to_writer(&mut *out, &y);
    out.push(b']');
}

fn write_rings(out: &mut Vec<u8>, rings: &[Vec<Position>]) {
    write_array(out, rings, |out, ring| {
        write_array(out, ring, write_position)
    });
}

/// Writes `[a,b,…]`, each element by `write`.
fn write_array<T>(out: &mut Vec<u8>, elements: &[T], write: impl Fn(&mut Vec<u8>, &T)) {
    out.push(b'[');
    for (n, element) in elements.iter().enumerate() {
        if n > 0 {
            out.push(b',');
        }
        write(out, element);
    }
    out.push(b']');
}

/// Reads a bbox array: `[minx, miny, maxx, maxy]` or the 3-D `[minx, miny, minz, maxx, maxy, maxz]`.
pub fn bbox_from_array(value: &Value, field: Field<'_>) -> Result<[f64; 4], String> {
    let numbers: Vec<f64> = array(value, field)?
        .iter()
        .map(Value::as_f64)
        .collect::<Option<_>>()
        .ok_or_else(|| format!("{field}: not an array of numbers"))?;
    let bbox = match numbers[..] {
        [minx, miny, maxx, maxy] | [minx, miny, _, maxx, maxy, _] => [minx, miny, maxx, maxy],
        _ => {
            return Err(format!(
                "{field}: expected 4 or 6 numbers, found {}",
                numbers.len()
            ));
        }
    };
    checked_bbox(bbox, field)
}

/// Reads a bbox object with `minx, miny, maxx, maxy` (or `west, south, east, north`).
pub fn bbox_from_object(value: &Value, field: Field<'_>) -> Result<[f64; 4], String> {
    let object: &Map<String, Value> = value
        .as_object()
        .ok_or_else(|| format!("{field}: expected an object with minx, miny, maxx, maxy"))?;
    let get = |names: [&str; 2]| {
        names
            .iter()
            .find_map(|name| object.get(*name))
            .and_then(Value::as_f64)
            .ok_or_else(|| format!("{field}.{}: missing or not a number", names[0]))
    };
    let bbox = [
        get(["minx", "west"])?,
        get(["miny", "south"])?,
        get(["maxx", "east"])?,
        get(["maxy", "north"])?,
    ];
    checked_bbox(bbox, field)
}

fn checked_bbox(bbox: [f64; 4], field: Field<'_>) -> Result<[f64; 4], String> {
    if bbox.iter().all(|v| v.is_finite()) && bbox[0] <= bbox[2] && bbox[1] <= bbox[3] {
        Ok(bbox)
    } else {
        Err(format!(
            "{field}: {bbox:?} is not a bbox (min must not exceed max)"
        ))
    }
}

fn array<'v>(value: &'v Value, field: Field<'_>) -> Result<&'v Vec<Value>, String> {
    value
        .as_array()
        .ok_or_else(|| format!("{field}: expected an array"))
}

fn position(value: &Value, field: Field<'_>) -> Result<Position, String> {
    read_position(value).map_err(|e| format!("{field}: {e}"))
}

/// One position; the error says what is wrong, for the caller to name the field (which
/// is only written out then: a footprint has thousands of positions).
fn read_position(value: &Value) -> Result<Position, &'static str> {
    match value.as_array().map(Vec::as_slice) {
        Some([x, y, ..]) => match (x.as_f64(), y.as_f64()) {
            (Some(x), Some(y)) if x.is_finite() && y.is_finite() => Ok([x, y]),
            _ => Err("position is not numbers"),
        },
        Some(_) => Err("position needs at least 2 numbers"),
        None => Err("expected an array"),
    }
}

fn positions(value: &Value, field: Field<'_>, min: usize) -> Result<Vec<Position>, String> {
    let items = array(value, field)?;
    if items.len() < min {
        return Err(format!("{field}: needs at least {min} positions"));
    }
    let mut read = Vec::with_capacity(items.len());
    for (i, p) in items.iter().enumerate() {
        read.push(read_position(p).map_err(|e| format!("{field}[{i}]: {e}"))?);
    }
    Ok(read)
}

fn nested(value: &Value, field: Field<'_>, min: usize) -> Result<Vec<Vec<Position>>, String> {
    let parts = array(value, field)?;
    if parts.is_empty() {
        return Err(format!("{field}: empty"));
    }
    parts
        .iter()
        .enumerate()
        .map(|(i, p)| positions(p, field.index(i), min))
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// The geometry's GeoJSON, written and read back.
    fn json(geometry: &Geometry) -> Value {
        let mut out = Vec::new();
        geometry.write_json(&mut out);
        serde_json::from_slice(&out).unwrap()
    }

    #[test]
    fn writes_each_kind_as_geojson() {
        let ring = vec![[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 0.0]];
        let cases = [
            (
                Geometry::Point([1.5, f64::NAN]),
                json!({"type": "Point", "coordinates": [1.5, null]}),
            ),
            (
                Geometry::Line("LineString", vec![[0.0, 1.0], [2.0, 3.0]]),
                json!({"type": "LineString", "coordinates": [[0.0, 1.0], [2.0, 3.0]]}),
            ),
            (
                Geometry::Line("MultiPoint", vec![[0.0, 1.0], [2.0, 3.0]]),
                json!({"type": "MultiPoint", "coordinates": [[0.0, 1.0], [2.0, 3.0]]}),
            ),
            (
                Geometry::Rings("MultiLineString", vec![ring.clone(), ring.clone()]),
                json!({"type": "MultiLineString", "coordinates": [ring, ring]}),
            ),
            (
                Geometry::Rings("Polygon", vec![ring.clone()]),
                json!({"type": "Polygon", "coordinates": [ring]}),
            ),
            (
                Geometry::MultiPolygon(vec![vec![ring.clone()], vec![ring.clone(), ring.clone()]]),
                json!({"type": "MultiPolygon", "coordinates": [[ring], [ring, ring]]}),
            ),
        ];
        for (geometry, expected) in cases {
            let written = json(&geometry);
            assert_eq!(written, expected);
            // Members in GeoJSON's usual order.
            assert_eq!(written.as_object().unwrap().keys().next().unwrap(), "type");
            // As serde_json writes the same object.
            let mut out = Vec::new();
            geometry.write_json(&mut out);
            assert_eq!(out, serde_json::to_vec(&expected).unwrap());
            // The index reads the same shape from the GeoJSON (which has no `null` position).
            match crate::index::geometry::from_geojson(&expected) {
                Ok(read) => assert_eq!(geometry.to_geo(), read),
                Err(_) => assert!(matches!(geometry, Geometry::Point([_, y]) if y.is_nan())),
            }
        }
    }

    #[test]
    fn reads_and_bounds_geometries() {
        let value = json!({"type": "MultiPolygon", "coordinates": [[[[0, 0], [2, 0], [2, 1], [0, 1], [0, 0]]]]});
        let mut geometry = Geometry::from_json(&value, Field::Root("g")).unwrap();
        assert_eq!(geometry.bbox(), [0.0, 0.0, 2.0, 1.0]);
        let round_trip = Geometry::from_json(&json(&geometry), Field::Root("g")).unwrap();
        assert_eq!(round_trip, geometry);
        assert_eq!(json(&geometry)["coordinates"][0][0][2], json!([2.0, 1.0]));
        assert!(
            Geometry::from_json(
                &json!({"type": "Polygon", "coordinates": [[[0, 0]]]}),
                Field::Root("g")
            )
            .is_err()
        );
        assert!(
            Geometry::from_json(
                &json!({"type": "Circle", "coordinates": [0, 0]}),
                Field::Root("g")
            )
            .is_err()
        );
        assert!(
            Geometry::from_json(&json!("x"), Field::Root("g"))
                .unwrap_err()
                .starts_with("g:")
        );
        let mut point = Geometry::from_json(
            &json!({"type": "Point", "coordinates": [1, 2, 3]}),
            Field::Root("g"),
        )
        .unwrap();
        assert_eq!(point.bbox(), [1.0, 2.0, 1.0, 2.0]);
    }

    #[test]
    fn checks_range_without_crs() {
        let mut far = Geometry::from_bbox([391_504.0, 6_955_430.0, 392_781.0, 6_956_805.0], 1);
        let err = far
            .reproject(None, Field::Root("patches[0].geometry"))
            .unwrap_err();
        assert!(err.starts_with("patches[0].geometry: coordinates"), "{err}");
        let crs = Crs::parse("EPSG:2154").unwrap();
        far.reproject(Some(&crs), Field::Root("g")).unwrap();
        let [minx, miny, maxx, maxy] = far.bbox();
        assert!(-5.0 < minx && maxx < 10.0 && 41.0 < miny && maxy < 52.0);
    }

    #[test]
    fn reads_bboxes() {
        assert_eq!(
            bbox_from_array(&json!([1, 2, 3, 4]), Field::Root("b")).unwrap(),
            [1.0, 2.0, 3.0, 4.0]
        );
        assert_eq!(
            bbox_from_array(&json!([1, 2, 0, 3, 4, 9]), Field::Root("b")).unwrap(),
            [1.0, 2.0, 3.0, 4.0]
        );
        assert!(bbox_from_array(&json!([3, 2, 1, 4]), Field::Root("b")).is_err());
        assert!(bbox_from_array(&json!([1, "2", 3, 4]), Field::Root("b")).is_err());
        let object = json!({"minx": 1, "miny": 2, "maxx": 3, "maxy": 4});
        assert_eq!(
            bbox_from_object(&object, Field::Root("b")).unwrap(),
            [1.0, 2.0, 3.0, 4.0]
        );
        assert!(
            bbox_from_object(&json!({"minx": 1}), Field::Root("b"))
                .unwrap_err()
                .contains("b.miny")
        );
        assert_eq!(
            Geometry::from_bbox([0.0, 0.0, 1.0, 1.0], 4)
                .positions_mut()
                .count(),
            17
        );
    }
}
