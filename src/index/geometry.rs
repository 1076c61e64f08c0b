//! GeoJSON geometries (RFC 7946) read into `geo` types, for exact `intersects` checks.

use geo::{
    Coord, Geometry, GeometryCollection, LineString, MultiLineString, MultiPoint, MultiPolygon,
    Point, Polygon,
};
use serde_json::Value;

use super::spatial::Bbox;

/// Reads a GeoJSON geometry object; the error says what is wrong with it.
pub fn from_geojson(value: &Value) -> Result<Geometry<f64>, String> {
    let object = value
        .as_object()
        .ok_or("a geometry must be a JSON object")?;
    let kind = object
        .get("type")
        .and_then(Value::as_str)
        .ok_or("a geometry needs a string `type`")?;
    if kind == "GeometryCollection" {
        let members = object
            .get("geometries")
            .and_then(Value::as_array)
            .ok_or("a GeometryCollection needs a `geometries` array")?;
        let members = each(members, from_geojson)?;
        return Ok(Geometry::GeometryCollection(GeometryCollection::new_from(
            members,
        )));
    }
    let coordinates = object
        .get("coordinates")
        .ok_or_else(|| format!("a {kind} needs `coordinates`"))?;
    match kind {
        "Point" => Ok(Geometry::Point(Point::from(position(coordinates)?))),
        "MultiPoint" => Ok(Geometry::MultiPoint(MultiPoint::new(each(
            array(coordinates)?,
            |p| position(p).map(Point::from),
        )?))),
        "LineString" => Ok(Geometry::LineString(line(coordinates)?)),
        "MultiLineString" => Ok(Geometry::MultiLineString(MultiLineString::new(each(
            array(coordinates)?,
            line,
        )?))),
        "Polygon" => Ok(Geometry::Polygon(polygon(coordinates)?)),
        "MultiPolygon" => Ok(Geometry::MultiPolygon(MultiPolygon::new(each(
            array(coordinates)?,
            polygon,
        )?))),
        other => Err(format!("unknown geometry type `{other}`")),
    }
}

/// Whether `geometry` is exactly the rectangle `bbox` (a polygon, or a multipolygon of one,
/// whose only ring runs along the box's four sides): then the bbox alone answers
/// `intersects` as the geometry would.
pub fn is_rectangle_of(geometry: &Geometry<f64>, bbox: &Bbox) -> bool {
    let polygon = match geometry {
        Geometry::Polygon(polygon) => polygon,
        Geometry::MultiPolygon(multi) if multi.0.len() == 1 => &multi.0[0],
        _ => return false,
    };
    let ring = &polygon.exterior().0;
    if !polygon.interiors().is_empty() || ring.len() != 5 || ring[0] != ring[4] {
        return false;
    }
    if !(bbox.west < bbox.east && bbox.south < bbox.north) {
        return false;
    }
    let corner = |c: &Coord<f64>| {
        let x = [bbox.west, bbox.east].iter().position(|x| *x == c.x)?;
        let y = [bbox.south, bbox.north].iter().position(|y| *y == c.y)?;
        Some(1 << (2 * y + x))
    };
    let mut seen = 0;
    for (c, next) in ring.iter().zip(&ring[1..]) {
        let Some(bit) = corner(c) else {
            return false;
        };
        if c.x != next.x && c.y != next.y {
            return false;
        }
        seen |= bit;
    }
    seen == 0b1111
}

/// A JSON array, or an error.
fn array(value: &Value) -> Result<&Vec<Value>, String> {
    value
        .as_array()
        .ok_or_else(|| "coordinates must be nested arrays".to_string())
}

/// One position: at least two finite numbers (x, y); a third (height) is ignored.
fn position(value: &Value) -> Result<Coord<f64>, String> {
    let numbers = array(value)?;
    let number = |i: usize| {
        numbers
            .get(i)
            .and_then(Value::as_f64)
            .filter(|n| n.is_finite())
            .ok_or_else(|| "a position needs at least two finite numbers".to_string())
    };
    Ok(Coord {
        x: number(0)?,
        y: number(1)?,
    })
}

/// A line string: two or more positions.
fn line(value: &Value) -> Result<LineString<f64>, String> {
    let points = each(array(value)?, position)?;
    if points.len() < 2 {
        return Err("a line string needs at least two positions".into());
    }
    Ok(LineString::new(points))
}

/// A polygon: an exterior ring then holes, each ring of four or more positions.
fn polygon(value: &Value) -> Result<Polygon<f64>, String> {
    let ring = |value: &Value| {
        let ring = line(value)?;
        if ring.0.len() < 4 {
            return Err("a polygon ring needs at least four positions".to_string());
        }
        Ok(ring)
    };
    let Some((exterior, holes)) = array(value)?.split_first() else {
        return Err("a polygon needs an exterior ring".into());
    };
    Ok(Polygon::new(ring(exterior)?, each(holes, ring)?))
}

/// Each of `values` read by `read`, in a vector of exactly their number: geometries are
/// kept for the snapshot's life, and one collected from an iterator of `Result`s grows
/// to up to twice what it holds.
fn each<T>(values: &[Value], read: impl Fn(&Value) -> Result<T, String>) -> Result<Vec<T>, String> {
    let mut read_all = Vec::with_capacity(values.len());
    for value in values {
        read_all.push(read(value)?);
    }
    Ok(read_all)
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::Intersects;
    use serde_json::json;

    #[test]
    fn tells_a_rectangle_of_its_bbox() {
        let bbox = Bbox {
            west: 0.0,
            south: 1.0,
            east: 2.0,
            north: 3.0,
        };
        let ring = |positions: Value| {
            from_geojson(&json!({"type": "Polygon", "coordinates": [positions]})).unwrap()
        };
        let rectangles = [
            ring(json!([[0, 1], [2, 1], [2, 3], [0, 3], [0, 1]])),
            ring(json!([[2, 3], [2, 1], [0, 1], [0, 3], [2, 3]])),
            from_geojson(&json!({"type": "MultiPolygon",
                "coordinates": [[[[0, 3], [0, 1], [2, 1], [2, 3], [0, 3]]]]}))
            .unwrap(),
        ];
        for rectangle in &rectangles {
            assert!(is_rectangle_of(rectangle, &bbox), "{rectangle:?}");
        }
        let others = [
            // Corners in bow-tie order.
            ring(json!([[0, 1], [2, 3], [2, 1], [0, 3], [0, 1]])),
            // Back and forth along two sides.
            ring(json!([[0, 1], [2, 1], [2, 3], [2, 1], [0, 1]])),
            // A smaller rectangle than the bbox.
            ring(json!([[0, 1], [1, 1], [1, 3], [0, 3], [0, 1]])),
            // A triangle, and a rectangle with a hole.
            ring(json!([[0, 1], [2, 1], [0, 3], [0, 1]])),
            from_geojson(&json!({"type": "Polygon", "coordinates": [
                [[0, 1], [2, 1], [2, 3], [0, 3], [0, 1]],
                [[0.5, 1.5], [1, 1.5], [1, 2], [0.5, 1.5]]]}))
            .unwrap(),
            from_geojson(&json!({"type": "MultiPolygon", "coordinates": [
                [[[0, 1], [2, 1], [2, 3], [0, 3], [0, 1]]],
                [[[0, 1], [2, 1], [2, 3], [0, 3], [0, 1]]]]}))
            .unwrap(),
            from_geojson(&json!({"type": "Point", "coordinates": [0, 1]})).unwrap(),
        ];
        for other in &others {
            assert!(!is_rectangle_of(other, &bbox), "{other:?}");
        }
        let crossing = Bbox {
            west: 2.0,
            east: 0.0,
            ..bbox
        };
        assert!(!is_rectangle_of(&rectangles[0], &crossing));
    }

    #[test]
    fn reads_every_kind() {
        let square =
            json!({"type": "Polygon", "coordinates": [[[0, 0], [2, 0], [2, 2], [0, 2], [0, 0]]]});
        let point = json!({"type": "Point", "coordinates": [1, 1, 30]});
        let far = json!({"type": "MultiPoint", "coordinates": [[5, 5], [6, 6]]});
        let line = json!({"type": "LineString", "coordinates": [[-1, 1], [3, 1]]});
        let collection = json!({"type": "GeometryCollection", "geometries": [point, far]});
        let square = from_geojson(&square).unwrap();
        assert!(square.intersects(&from_geojson(&point).unwrap()));
        assert!(!square.intersects(&from_geojson(&far).unwrap()));
        assert!(square.intersects(&from_geojson(&line).unwrap()));
        assert!(square.intersects(&from_geojson(&collection).unwrap()));
        let multi =
            json!({"type": "MultiPolygon", "coordinates": [[[[4, 4], [7, 4], [7, 7], [4, 4]]]]});
        assert!(
            from_geojson(&multi)
                .unwrap()
                .intersects(&from_geojson(&far).unwrap())
        );
        let lines = json!({"type": "MultiLineString", "coordinates": [[[0, 0], [1, 1]]]});
        assert!(matches!(
            from_geojson(&lines),
            Ok(Geometry::MultiLineString(_))
        ));
    }

    #[test]
    fn rejects_malformed_geometries() {
        for (bad, reason) in [
            (json!([1, 2]), "JSON object"),
            (json!({"coordinates": [1, 2]}), "string `type`"),
            (json!({"type": "Point"}), "needs `coordinates`"),
            (
                json!({"type": "Point", "coordinates": [1]}),
                "two finite numbers",
            ),
            (
                json!({"type": "Point", "coordinates": ["a", 1]}),
                "two finite numbers",
            ),
            (
                json!({"type": "LineString", "coordinates": [[1, 2]]}),
                "two positions",
            ),
            (
                json!({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [0, 0]]]}),
                "four positions",
            ),
            (
                json!({"type": "Polygon", "coordinates": []}),
                "exterior ring",
            ),
            (
                json!({"type": "Circle", "coordinates": [0, 0]}),
                "unknown geometry type `Circle`",
            ),
        ] {
            let error = from_geojson(&bad).unwrap_err();
            assert!(error.contains(reason), "{bad}: {error}");
        }
    }

    #[test]
    fn holds_no_spare_capacity() {
        let ring = json!([[0, 0], [2, 0], [2, 2], [0, 2], [0, 0]]);
        let two = json!({"type": "MultiPolygon", "coordinates": [[ring], [ring, ring]]});
        let Ok(Geometry::MultiPolygon(polygons)) = from_geojson(&two) else {
            panic!("not read as a MultiPolygon");
        };
        assert_eq!(polygons.0.capacity(), 2);
        assert_eq!(polygons.0[0].exterior().0.capacity(), 5);
        assert_eq!(polygons.0[0].interiors().len(), 0);
        assert_eq!(polygons.0[1].interiors().len(), 1);
        assert_eq!(polygons.0[1].interiors()[0].0.capacity(), 5);
    }
}
