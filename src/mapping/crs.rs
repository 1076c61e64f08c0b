//! Coordinate reference systems of footprints and their reprojection to EPSG:4326.
//!
//! Accepted spellings: `EPSG:2154`, `epsg:2154`, a bare code (`2154`),
//! `urn:ogc:def:crs:EPSG::2154`, `http(s)://www.opengis.net/def/crs/EPSG/0/2154`, and
//! `OGC:CRS84` / `urn:ogc:def:crs:OGC:1.3:CRS84` (lon/lat). Supported codes, with proj
//! strings written from their EPSG definitions: 4326, 4258 and 4171 (geographic, taken as
//! WGS 84, within a metre), 3857 and 900913 (Web Mercator), 2154 (RGF93 / Lambert-93),
//! 32601–32660 and 32701–32760 (WGS 84 / UTM), 25828–25838 (ETRS89 / UTM).

use proj4rs::Proj;

/// A footprint CRS, ready to reproject positions to lon/lat degrees.
pub enum Crs {
    /// Already lon/lat degrees (EPSG:4326 and its near-equivalents).
    LonLat,
    /// A projected CRS and the WGS 84 lon/lat target.
    Projected {
        /// The EPSG code, for messages.
        code: u32,
        /// The source projection.
        from: Box<Proj>,
        /// WGS 84 lon/lat (radians, as proj4rs works).
        to: Box<Proj>,
    },
}

impl std::fmt::Debug for Crs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Crs::LonLat => f.write_str("EPSG:4326"),
            Crs::Projected { code, .. } => write!(f, "EPSG:{code}"),
        }
    }
}

impl Crs {
    /// Parses a CRS name (see the module docs for the spellings and codes accepted).
    pub fn parse(name: &str) -> Result<Crs, String> {
        let code = epsg_code(name)
            .ok_or_else(|| format!("unrecognised CRS {name:?} (use EPSG:<code>)"))?;
        let definition = match code {
            4326 | 4258 | 4171 => return Ok(Crs::LonLat),
            3857 | 900913 => {
                "+proj=merc +a=6378137 +b=6378137 +lat_ts=0 +lon_0=0 +x_0=0 +y_0=0 +k=1 \
                              +units=m +nadgrids=@null +no_defs"
                    .to_owned()
            }
            2154 => "+proj=lcc +lat_0=46.5 +lon_0=3 +lat_1=49 +lat_2=44 +x_0=700000 +y_0=6600000 \
                     +ellps=GRS80 +towgs84=0,0,0,0,0,0,0 +units=m +no_defs"
                .to_owned(),
            32601..=32660 => format!(
                "+proj=utm +zone={} +datum=WGS84 +units=m +no_defs",
                code - 32600
            ),
            32701..=32760 => {
                format!(
                    "+proj=utm +zone={} +south +datum=WGS84 +units=m +no_defs",
                    code - 32700
                )
            }
            25828..=25838 => format!(
                "+proj=utm +zone={} +ellps=GRS80 +towgs84=0,0,0,0,0,0,0 +units=m +no_defs",
                code - 25800
            ),
            _ => return Err(format!("unsupported CRS EPSG:{code}")),
        };
        let from =
            Proj::from_proj_string(&definition).map_err(|e| format!("CRS EPSG:{code}: {e}"))?;
        let to = Proj::from_proj_string("+proj=longlat +datum=WGS84 +no_defs")
            .map_err(|e| format!("CRS EPSG:4326: {e}"))?;
        Ok(Crs::Projected {
            code,
            from: Box::new(from),
            to: Box::new(to),
        })
    }

    /// Whether positions need reprojecting.
    pub fn is_lon_lat(&self) -> bool {
        matches!(self, Crs::LonLat)
    }

    /// One position as lon/lat degrees.
    pub fn to_lon_lat(&self, [x, y]: [f64; 2]) -> Result<[f64; 2], String> {
        match self {
            Crs::LonLat if in_lon_lat_range([x, y]) => Ok([x, y]),
            Crs::LonLat => Err(format!("({x}, {y}) is outside lon/lat range for EPSG:4326")),
            Crs::Projected { code, from, to } => {
                let (lon, lat) = proj4rs::adaptors::transform_xy(from, to, x, y)
                    .map_err(|e| format!("cannot reproject ({x}, {y}) from EPSG:{code}: {e}"))?;
                let (lon, lat) = (lon.to_degrees(), lat.to_degrees());
                if lon.is_finite() && lat.is_finite() && in_lon_lat_range([lon, lat]) {
                    Ok([lon, lat])
                } else {
                    Err(format!("({x}, {y}) is outside the area of EPSG:{code}"))
                }
            }
        }
    }
}

/// Whether a position is a plausible lon/lat pair.
pub fn in_lon_lat_range([lon, lat]: [f64; 2]) -> bool {
    (-180.0..=180.0).contains(&lon) && (-90.0..=90.0).contains(&lat)
}

fn epsg_code(name: &str) -> Option<u32> {
    let name = name.trim();
    let upper = name.to_ascii_uppercase();
    if upper.ends_with("CRS84") {
        return Some(4326);
    }
    let code = if let Some(rest) = upper.strip_prefix("EPSG:") {
        rest
    } else if let Some(rest) = upper.strip_prefix("URN:OGC:DEF:CRS:EPSG:") {
        // `urn:ogc:def:crs:EPSG::2154` or with a version: `…:EPSG:9.8:2154`.
        rest.rsplit(':').next()?
    } else if upper.contains("OPENGIS.NET/DEF/CRS/EPSG/") {
        upper.trim_end_matches('/').rsplit('/').next()?
    } else {
        &upper
    };
    code.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names() {
        for name in [
            "EPSG:2154",
            "epsg:2154",
            "2154",
            "urn:ogc:def:crs:EPSG::2154",
            "http://www.opengis.net/def/crs/EPSG/0/2154",
        ] {
            assert!(
                matches!(Crs::parse(name), Ok(Crs::Projected { code: 2154, .. })),
                "{name}"
            );
        }
        assert!(Crs::parse("OGC:CRS84").unwrap().is_lon_lat());
        assert!(Crs::parse("EPSG:4326").unwrap().is_lon_lat());
        assert!(
            Crs::parse("EPSG:27700")
                .unwrap_err()
                .contains("unsupported")
        );
        assert!(Crs::parse("Lambert").unwrap_err().contains("unrecognised"));
    }

    #[test]
    fn reprojects_known_points() {
        // Lambert-93's false origin is (3°E, 46.5°N).
        let lambert = Crs::parse("EPSG:2154").unwrap();
        let [lon, lat] = lambert.to_lon_lat([700_000.0, 6_600_000.0]).unwrap();
        assert!(
            (lon - 3.0).abs() < 1e-9 && (lat - 46.5).abs() < 1e-9,
            "{lon} {lat}"
        );
        // PASTIS patch 10000 (tile T30UXV, Normandy); reference from PROJ 9.1 `cs2cs EPSG:2154 OGC:CRS84`.
        let [lon, lat] = lambert.to_lon_lat([391_504.7, 6_956_805.9]).unwrap();
        assert!(
            (lon + 1.270_332_530).abs() < 1e-8 && (lat - 49.635_309_571).abs() < 1e-8,
            "{lon} {lat}"
        );
        let mercator = Crs::parse("EPSG:3857").unwrap();
        let [lon, lat] = mercator.to_lon_lat([1_113_194.9, 0.0]).unwrap();
        assert!((lon - 10.0).abs() < 1e-6 && lat.abs() < 1e-9);
        // UTM 31N central meridian is 3°E; 32731 is the southern zone.
        let [lon, lat] = Crs::parse("EPSG:32631")
            .unwrap()
            .to_lon_lat([500_000.0, 0.0])
            .unwrap();
        assert!((lon - 3.0).abs() < 1e-9 && lat.abs() < 1e-9);
        let [_, lat] = Crs::parse("EPSG:32731")
            .unwrap()
            .to_lon_lat([500_000.0, 9_000_000.0])
            .unwrap();
        assert!((-10.0..-8.0).contains(&lat), "{lat}");
    }
}
