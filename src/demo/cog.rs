//! Small Cloud-Optimized GeoTIFFs, written by hand for the demo layers.
//!
//! One little-endian classic TIFF (TIFF 6.0) image: 8-bit unsigned samples, pixel
//! interleaved, tiled, uncompressed, with GeoTIFF 1.1 georeferencing
//! (`ModelPixelScale`, `ModelTiepoint`, `GeoKeyDirectory`). As the COG layout asks,
//! the IFD comes right after the 8-byte header and all tag data before the tiles,
//! which follow in row-major order; images this small need no overviews.

/// Horizontal CRS of a demo image, written as GeoTIFF keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Crs {
    /// A projected CRS by EPSG code (`ProjectedCSTypeGeoKey`), in metres.
    Projected(u16),
    /// A geographic CRS by EPSG code (`GeographicTypeGeoKey`), in degrees.
    Geographic(u16),
}

/// Where an image lies: its CRS, upper-left corner and pixel size in CRS units.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GeoRef {
    /// The image's CRS.
    pub crs: Crs,
    /// X of the upper-left corner of the upper-left pixel.
    pub origin_x: f64,
    /// Y of the upper-left corner of the upper-left pixel.
    pub origin_y: f64,
    /// Pixel width (positive).
    pub pixel_width: f64,
    /// Pixel height (positive; rows go south).
    pub pixel_height: f64,
}

/// An 8-bit image to encode: `bands` samples per pixel, pixel interleaved, row-major.
#[derive(Debug, Clone, Copy)]
pub struct Image<'a> {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Samples per pixel: 1 (grey) or 3 (RGB).
    pub bands: u16,
    /// `width * height * bands` samples.
    pub pixels: &'a [u8],
}

/// TIFF field types used here.
const SHORT: u16 = 3;
const LONG: u16 = 4;
const DOUBLE: u16 = 12;

/// Tag numbers (TIFF 6.0, GeoTIFF 1.1).
mod tag {
    pub const IMAGE_WIDTH: u16 = 256;
    pub const IMAGE_LENGTH: u16 = 257;
    pub const BITS_PER_SAMPLE: u16 = 258;
    pub const COMPRESSION: u16 = 259;
    pub const PHOTOMETRIC: u16 = 262;
    pub const SAMPLES_PER_PIXEL: u16 = 277;
    pub const PLANAR_CONFIGURATION: u16 = 284;
    pub const TILE_WIDTH: u16 = 322;
    pub const TILE_LENGTH: u16 = 323;
    pub const TILE_OFFSETS: u16 = 324;
    pub const TILE_BYTE_COUNTS: u16 = 325;
    pub const SAMPLE_FORMAT: u16 = 339;
    pub const MODEL_PIXEL_SCALE: u16 = 33550;
    pub const MODEL_TIEPOINT: u16 = 33922;
    pub const GEO_KEY_DIRECTORY: u16 = 34735;
}

/// One IFD entry before layout: tag, field type, value count and value bytes.
struct Entry {
    tag: u16,
    kind: u16,
    count: u32,
    bytes: Vec<u8>,
}

impl Entry {
    fn shorts(tag: u16, values: &[u16]) -> Self {
        let bytes = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        Entry {
            tag,
            kind: SHORT,
            count: values.len() as u32,
            bytes,
        }
    }
    fn longs(tag: u16, values: &[u32]) -> Self {
        let bytes = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        Entry {
            tag,
            kind: LONG,
            count: values.len() as u32,
            bytes,
        }
    }
    fn doubles(tag: u16, values: &[f64]) -> Self {
        let bytes = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        Entry {
            tag,
            kind: DOUBLE,
            count: values.len() as u32,
            bytes,
        }
    }
}

/// Encodes `image` as a COG with `tile`×`tile` tiles (a multiple of 16) placed by
/// `geo`. Edge tiles are padded with zeros, as TIFF requires whole tiles.
pub fn encode(image: &Image<'_>, tile: u32, geo: &GeoRef) -> Vec<u8> {
    let bands = u32::from(image.bands);
    let across = image.width.div_ceil(tile);
    let down = image.height.div_ceil(tile);
    let tile_bytes = tile * tile * bands;
    let tiles = (across * down) as usize;

    let mut entries = vec![
        Entry::longs(tag::IMAGE_WIDTH, &[image.width]),
        Entry::longs(tag::IMAGE_LENGTH, &[image.height]),
        Entry::shorts(tag::BITS_PER_SAMPLE, &vec![8; usize::from(image.bands)]),
        Entry::shorts(tag::COMPRESSION, &[1]),
        // 2 = RGB, 1 = BlackIsZero.
        Entry::shorts(tag::PHOTOMETRIC, &[if image.bands == 3 { 2 } else { 1 }]),
        Entry::shorts(tag::SAMPLES_PER_PIXEL, &[image.bands]),
        Entry::shorts(tag::PLANAR_CONFIGURATION, &[1]),
        Entry::longs(tag::TILE_WIDTH, &[tile]),
        Entry::longs(tag::TILE_LENGTH, &[tile]),
        Entry::longs(tag::TILE_OFFSETS, &vec![0; tiles]),
        Entry::longs(tag::TILE_BYTE_COUNTS, &vec![tile_bytes; tiles]),
        // 1 = unsigned integer.
        Entry::shorts(tag::SAMPLE_FORMAT, &vec![1; usize::from(image.bands)]),
        Entry::doubles(
            tag::MODEL_PIXEL_SCALE,
            &[geo.pixel_width, geo.pixel_height, 0.0],
        ),
        Entry::doubles(
            tag::MODEL_TIEPOINT,
            &[0.0, 0.0, 0.0, geo.origin_x, geo.origin_y, 0.0],
        ),
        Entry::shorts(tag::GEO_KEY_DIRECTORY, &geo_keys(geo.crs)),
    ];

    // Layout: header, IFD, out-of-line values (word-aligned), tiles.
    let ifd_len = 2 + 12 * entries.len() as u32 + 4;
    let mut cursor = 8 + ifd_len;
    let mut value_offsets = Vec::with_capacity(entries.len());
    for entry in &entries {
        if entry.bytes.len() > 4 {
            value_offsets.push(Some(cursor));
            cursor += (entry.bytes.len() as u32).next_multiple_of(2);
        } else {
            value_offsets.push(None);
        }
    }
    let data_start = cursor;
    let offsets: Vec<u32> = (0..tiles as u32)
        .map(|i| data_start + i * tile_bytes)
        .collect();
    if let Some(entry) = entries.iter_mut().find(|e| e.tag == tag::TILE_OFFSETS) {
        *entry = Entry::longs(tag::TILE_OFFSETS, &offsets);
    }

    let mut out = Vec::with_capacity((data_start + tile_bytes * tiles as u32) as usize);
    out.extend_from_slice(b"II\x2a\x00");
    out.extend_from_slice(&8u32.to_le_bytes());
    out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    for (entry, offset) in entries.iter().zip(&value_offsets) {
        out.extend_from_slice(&entry.tag.to_le_bytes());
        out.extend_from_slice(&entry.kind.to_le_bytes());
        out.extend_from_slice(&entry.count.to_le_bytes());
        match offset {
            Some(at) => out.extend_from_slice(&at.to_le_bytes()),
            None => {
                let mut inline = [0u8; 4];
                inline[..entry.bytes.len()].copy_from_slice(&entry.bytes);
                out.extend_from_slice(&inline);
            }
        }
    }
    out.extend_from_slice(&0u32.to_le_bytes()); // no next IFD
    for entry in entries.iter().filter(|e| e.bytes.len() > 4) {
        out.extend_from_slice(&entry.bytes);
        if entry.bytes.len() % 2 == 1 {
            out.push(0);
        }
    }
    for ty in 0..down {
        for tx in 0..across {
            push_tile(&mut out, image, tile, tx, ty);
        }
    }
    out
}

/// Appends tile (`tx`, `ty`), padding beyond the image's edge with zeros.
fn push_tile(out: &mut Vec<u8>, image: &Image<'_>, tile: u32, tx: u32, ty: u32) {
    let bands = usize::from(image.bands);
    let row_len = tile as usize * bands;
    for row in ty * tile..(ty + 1) * tile {
        let mut line = vec![0u8; row_len];
        if row < image.height {
            let x0 = tx * tile;
            let x1 = ((tx + 1) * tile).min(image.width);
            let from = (row as usize * image.width as usize + x0 as usize) * bands;
            let to = (row as usize * image.width as usize + x1 as usize) * bands;
            if let Some(src) = image.pixels.get(from..to) {
                line[..src.len()].copy_from_slice(src);
            }
        }
        out.extend_from_slice(&line);
    }
}

/// The `GeoKeyDirectoryTag` values: header, then keys sorted by id, all inline.
fn geo_keys(crs: Crs) -> Vec<u16> {
    // GTModelTypeGeoKey (1024): 1 projected, 2 geographic.
    // GTRasterTypeGeoKey (1025): 1 PixelIsArea.
    let keys: [[u16; 4]; 4] = match crs {
        Crs::Projected(epsg) => [
            [1024, 0, 1, 1],
            [1025, 0, 1, 1],
            // ProjectedCSTypeGeoKey.
            [3072, 0, 1, epsg],
            // ProjLinearUnitsGeoKey: metre.
            [3076, 0, 1, 9001],
        ],
        Crs::Geographic(epsg) => [
            [1024, 0, 1, 2],
            [1025, 0, 1, 1],
            // GeographicTypeGeoKey.
            [2048, 0, 1, epsg],
            // GeogAngularUnitsGeoKey: degree.
            [2054, 0, 1, 9102],
        ],
    };
    // KeyDirectoryVersion 1, KeyRevision 1.1, number of keys.
    let mut out = vec![1, 1, 1, keys.len() as u16];
    out.extend(keys.iter().flatten());
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use std::collections::BTreeMap;

    use super::*;

    /// A parsed IFD: tag → (type, values as f64).
    pub(crate) type Tags = BTreeMap<u16, (u16, Vec<f64>)>;

    /// Reads the first IFD of a little-endian classic TIFF, checking the COG rule
    /// that it starts right after the header; returns its tags and where it ends.
    pub(crate) fn parse(file: &[u8]) -> (Tags, usize) {
        let u16_at = |at: usize| u16::from_le_bytes([file[at], file[at + 1]]);
        let u32_at = |at: usize| u32::from_le_bytes(file[at..at + 4].try_into().unwrap());
        assert_eq!(&file[..4], b"II\x2a\x00");
        assert_eq!(u32_at(4), 8, "IFD right after the header");
        let n = u16_at(8) as usize;
        let mut tags = Tags::new();
        let mut last = 0;
        for i in 0..n {
            let at = 10 + 12 * i;
            let (t, kind, count) = (u16_at(at), u16_at(at + 2), u32_at(at + 4) as usize);
            assert!(t > last, "tags ascending");
            last = t;
            let width = match kind {
                SHORT => 2,
                LONG => 4,
                DOUBLE => 8,
                other => panic!("unexpected type {other}"),
            };
            let base = if width * count > 4 {
                u32_at(at + 8) as usize
            } else {
                at + 8
            };
            let values = (0..count)
                .map(|k| {
                    let p = base + k * width;
                    match kind {
                        SHORT => f64::from(u16_at(p)),
                        LONG => f64::from(u32_at(p)),
                        _ => f64::from_le_bytes(file[p..p + 8].try_into().unwrap()),
                    }
                })
                .collect();
            tags.insert(t, (kind, values));
        }
        assert_eq!(u32_at(10 + 12 * n), 0, "single IFD");
        (tags, 10 + 12 * n + 4)
    }

    fn values(tags: &Tags, t: u16) -> Vec<f64> {
        tags[&t].1.clone()
    }

    #[test]
    fn rgb_projected_tags() {
        let pixels: Vec<u8> = (0..64 * 48 * 3).map(|i| (i % 251) as u8).collect();
        let image = Image {
            width: 64,
            height: 48,
            bands: 3,
            pixels: &pixels,
        };
        let geo = GeoRef {
            crs: Crs::Projected(2154),
            origin_x: 391406.0,
            origin_y: 6956806.0,
            pixel_width: 5.0,
            pixel_height: 5.0,
        };
        let file = encode(&image, 32, &geo);
        let (tags, ifd_end) = parse(&file);
        assert_eq!(values(&tags, tag::IMAGE_WIDTH), [64.0]);
        assert_eq!(values(&tags, tag::IMAGE_LENGTH), [48.0]);
        assert_eq!(values(&tags, tag::BITS_PER_SAMPLE), [8.0, 8.0, 8.0]);
        assert_eq!(values(&tags, tag::PHOTOMETRIC), [2.0]);
        assert_eq!(values(&tags, tag::TILE_WIDTH), [32.0]);
        assert_eq!(values(&tags, tag::MODEL_PIXEL_SCALE), [5.0, 5.0, 0.0]);
        assert_eq!(
            values(&tags, tag::MODEL_TIEPOINT),
            [0.0, 0.0, 0.0, 391406.0, 6956806.0, 0.0]
        );
        let keys = values(&tags, tag::GEO_KEY_DIRECTORY);
        assert_eq!(keys[..4], [1.0, 1.0, 1.0, 4.0]);
        assert!(keys[4..].chunks(4).any(|k| k == [3072.0, 0.0, 1.0, 2154.0]));

        // 2 × 2 tiles (the lower row padded), after all tag data, in order, to EOF.
        let offsets = values(&tags, tag::TILE_OFFSETS);
        let counts = values(&tags, tag::TILE_BYTE_COUNTS);
        assert_eq!(counts, [3072.0; 4]);
        assert!(offsets[0] as usize >= ifd_end);
        assert!(offsets.windows(2).all(|w| w[1] == w[0] + 3072.0));
        assert_eq!(offsets[3] as usize + 3072, file.len());
        // Pixel (x=33, y=1) is in tile 1, row 1, column 1.
        let at = offsets[1] as usize + (32 + 1) * 3;
        let src = (64 + 33) * 3;
        assert_eq!(file[at..at + 3], pixels[src..src + 3]);
        // Row 47 is the last real one; tile 2's row 16 (y = 48) is padding.
        let pad = offsets[2] as usize + 16 * 32 * 3;
        assert!(file[pad..pad + 96].iter().all(|&b| b == 0));
    }

    #[test]
    fn grey_geographic_tags() {
        let pixels = vec![7u8; 16 * 16];
        let image = Image {
            width: 16,
            height: 16,
            bands: 1,
            pixels: &pixels,
        };
        let geo = GeoRef {
            crs: Crs::Geographic(4326),
            origin_x: 1.4,
            origin_y: 43.6,
            pixel_width: 0.001,
            pixel_height: 0.001,
        };
        let file = encode(&image, 16, &geo);
        let (tags, _) = parse(&file);
        assert_eq!(values(&tags, tag::PHOTOMETRIC), [1.0]);
        assert_eq!(values(&tags, tag::SAMPLES_PER_PIXEL), [1.0]);
        let keys = values(&tags, tag::GEO_KEY_DIRECTORY);
        assert!(keys[4..].chunks(4).any(|k| k == [2048.0, 0.0, 1.0, 4326.0]));
        assert!(keys[4..].chunks(4).any(|k| k == [1024.0, 0.0, 1.0, 2.0]));
        let offsets = values(&tags, tag::TILE_OFFSETS);
        assert_eq!(offsets.len(), 1);
        assert_eq!(offsets[0] as usize + 256, file.len());
    }
}
