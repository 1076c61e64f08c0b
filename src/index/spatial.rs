//! Bounding boxes, antimeridian-aware.

use geo::{BoundingRect, Coord, Geometry, Intersects, Rect};

/// A lon/lat bounding box. `west > east` means it crosses the antimeridian.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bbox {
    /// Western longitude.
    pub west: f64,
    /// Southern latitude.
    pub south: f64,
    /// Eastern longitude.
    pub east: f64,
    /// Northern latitude.
    pub north: f64,
}

impl Bbox {
    /// Reads a STAC bbox: 4 numbers, or 6 (3D) of which the 2D part is used.
    /// Longitudes must lie in [-180, 180], latitudes in [-90, 90] with south ≤ north.
    pub fn from_values(values: &[f64]) -> Result<Bbox, String> {
        let (west, south, east, north) = match *values {
            [w, s, e, n] => (w, s, e, n),
            [w, s, _, e, n, _] => (w, s, e, n),
            _ => return Err(format!("expected 4 or 6 numbers, got {}", values.len())),
        };
        if ![west, south, east, north].iter().all(|v| v.is_finite()) {
            return Err("numbers must be finite".into());
        }
        if !(-180.0..=180.0).contains(&west) || !(-180.0..=180.0).contains(&east) {
            return Err("longitudes must lie in [-180, 180]".into());
        }
        if !(-90.0..=90.0).contains(&south) || !(-90.0..=90.0).contains(&north) {
            return Err("latitudes must lie in [-90, 90]".into());
        }
        if south > north {
            return Err("south is greater than north".into());
        }
        Ok(Bbox {
            west,
            south,
            east,
            north,
        })
    }

    /// The planar bounding box of a geometry (never crossing the antimeridian).
    pub fn of_geometry(geometry: &Geometry<f64>) -> Option<Bbox> {
        let rect = geometry.bounding_rect()?;
        Some(Bbox {
            west: rect.min().x,
            south: rect.min().y,
            east: rect.max().x,
            north: rect.max().y,
        })
    }

    /// One rectangle `[lower, upper]`, or two when the box crosses the antimeridian.
    pub fn parts(&self) -> Vec<[[f64; 2]; 2]> {
        if self.west > self.east {
            vec![
                [[self.west, self.south], [180.0, self.north]],
                [[-180.0, self.south], [self.east, self.north]],
            ]
        } else {
            vec![[[self.west, self.south], [self.east, self.north]]]
        }
    }

    /// Whether the box (both its parts when it crosses the antimeridian) intersects
    /// `geometry`; exact, and without building a geometry of the box.
    pub fn intersects(&self, geometry: &Geometry<f64>) -> bool {
        let rect = |west: f64, east: f64| {
            Rect::new(
                Coord {
                    x: west,
                    y: self.south,
                },
                Coord {
                    x: east,
                    y: self.north,
                },
            )
        };
        if self.west > self.east {
            rect(self.west, 180.0).intersects(geometry)
                || rect(-180.0, self.east).intersects(geometry)
        } else {
            rect(self.west, self.east).intersects(geometry)
        }
    }

    /// The box as a geometry (a multipolygon of its parts): what tests check
    /// [`Bbox::intersects`] against.
    #[cfg(test)]
    pub fn to_geometry(self) -> Geometry<f64> {
        let polygons = self
            .parts()
            .into_iter()
            .map(|[lower, upper]| Rect::new(lower, upper).to_polygon())
            .collect();
        Geometry::MultiPolygon(geo::MultiPolygon::new(polygons))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bbox(values: &[f64]) -> Bbox {
        Bbox::from_values(values).unwrap()
    }

    #[test]
    fn reads_2d_and_3d_boxes() {
        assert_eq!(
            bbox(&[1.0, 2.0, 3.0, 4.0]),
            bbox(&[1.0, 2.0, -5.0, 3.0, 4.0, 5.0])
        );
        assert_eq!(bbox(&[1.0, 2.0, 3.0, 4.0]).east, 3.0);
    }

    #[test]
    fn rejects_bad_boxes() {
        for (values, reason) in [
            (vec![1.0, 2.0, 3.0], "4 or 6"),
            (vec![f64::NAN, 0.0, 1.0, 1.0], "finite"),
            (vec![0.0, 0.0, 181.0, 1.0], "longitudes"),
            (vec![0.0, -91.0, 1.0, 1.0], "latitudes"),
            (vec![0.0, 10.0, 1.0, 5.0], "south"),
        ] {
            assert!(Bbox::from_values(&values).unwrap_err().contains(reason));
        }
    }

    #[test]
    fn crossing_box_geometry_has_two_parts() {
        let crossing = bbox(&[170.0, 0.0, -170.0, 1.0]);
        let Geometry::MultiPolygon(parts) = crossing.to_geometry() else {
            panic!("not a multipolygon")
        };
        assert_eq!(parts.0.len(), 2);
        for (x, inside) in [(175.0, true), (-175.0, true), (0.0, false), (169.0, false)] {
            let point = Geometry::Point(geo::Point::new(x, 0.5));
            assert_eq!(crossing.intersects(&point), inside, "{x}");
            assert_eq!(crossing.to_geometry().intersects(&point), inside, "{x}");
        }
        let geometry = Geometry::Point(geo::Point::new(3.0, 4.0));
        assert_eq!(
            Bbox::of_geometry(&geometry),
            Some(bbox(&[3.0, 4.0, 3.0, 4.0]))
        );
    }
}
