//! Files inside tar layers. An uncompressed tar stores each file contiguously, so each
//! member of a layer can be served as a byte range of the layer: GDAL reads a COG
//! inside a PASTIS tar without the tar being downloaded. This module knows which layers
//! are tars, indexes them from their headers ([`tar`]), and says what each member is
//! (media type and roles from its path).

pub mod decompress;
pub mod tar;

pub use tar::Member;

use std::sync::Arc;

/// The files of one tar layer and how the layer is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerIndex {
    /// Plain, gzip or zstd.
    pub compression: Compression,
    /// Its regular files, in archive order (offsets in the decompressed tar).
    pub members: Arc<Vec<Member>>,
}

use crate::source::Descriptor;

/// How a tar layer's bytes are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// A plain tar: members are byte ranges of the layer.
    None,
    /// `tar+gzip`: members are read by decompressing from the start.
    Gzip,
    /// `tar+zstd`: likewise.
    Zstd,
}

/// Whether a layer is a tar, and how it is compressed (by media type, or by the title's
/// extension when the media type is generic).
pub fn tar_compression(layer: &Descriptor) -> Option<Compression> {
    let media_type = layer.media_type_essence();
    let by_type = match media_type {
        "application/vnd.oci.image.layer.v1.tar"
        | "application/vnd.docker.image.rootfs.diff.tar"
        | "application/x-tar"
        | "application/tar" => Some(Compression::None),
        "application/vnd.oci.image.layer.v1.tar+gzip"
        | "application/vnd.docker.image.rootfs.diff.tar.gzip" => Some(Compression::Gzip),
        "application/vnd.oci.image.layer.v1.tar+zstd" => Some(Compression::Zstd),
        _ => None,
    };
    if by_type.is_some() {
        return by_type;
    }
    let generic = matches!(
        media_type,
        "application/octet-stream"
            | ""
            | "application/gzip"
            | "application/x-gzip"
            | "application/zstd"
    );
    let title = layer
        .annotations
        .get("org.opencontainers.image.title")?
        .to_ascii_lowercase();
    if !generic {
        None
    } else if title.ends_with(".tar") {
        Some(Compression::None)
    } else if title.ends_with(".tar.gz") || title.ends_with(".tgz") {
        Some(Compression::Gzip)
    } else if title.ends_with(".tar.zst") || title.ends_with(".tar.zstd") {
        Some(Compression::Zstd)
    } else {
        None
    }
}

/// The media type of a member, from its extension.
pub fn media_type(path: &str) -> &'static str {
    let name = path.rsplit('/').next().unwrap_or(path).to_ascii_lowercase();
    let extension = name.rsplit_once('.').map_or("", |(_, e)| e);
    match extension {
        "tif" | "tiff" => "image/tiff; application=geotiff",
        "npy" => "application/x-npy",
        "json" => "application/json",
        "geojson" => "application/geo+json",
        "parquet" => "application/vnd.apache.parquet",
        "nc" => "application/netcdf",
        "zarr" | "zip" => "application/zip",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "csv" => "text/csv",
        "txt" | "md" => "text/plain",
        "xml" => "application/xml",
        "h5" | "hdf5" => "application/x-hdf5",
        _ => "application/octet-stream",
    }
}

/// Asset roles of a member, from the folders and name of its path.
pub fn roles(path: &str) -> &'static [&'static str] {
    let lower = path.to_ascii_lowercase();
    let has = |words: &[&str]| words.iter().any(|w| lower.contains(w));
    if has(&["annotation", "label", "target", "mask", "gt/"]) {
        &["labels"]
    } else if has(&["thumb", "preview", "quicklook"]) {
        &["thumbnail"]
    } else if has(&["meta", ".json", ".xml"]) {
        &["metadata"]
    } else {
        &["data"]
    }
}

/// Whether a member's first bytes make it a Cloud-Optimized GeoTIFF candidate worth
/// the `profile=cloud-optimized` label: a TIFF whose first IFD directly follows the
/// header, as COGs are laid out.
pub fn looks_cloud_optimized(first_bytes: &[u8]) -> bool {
    match first_bytes {
        [b'I', b'I', 42, 0, a, b, c, d, ..] => u32::from_le_bytes([*a, *b, *c, *d]) == 8,
        [b'M', b'M', 0, 42, a, b, c, d, ..] => u32::from_be_bytes([*a, *b, *c, *d]) == 8,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::Annotations;

    #[test]
    fn kinds_of_members() {
        assert_eq!(media_type("DATA_S2/S2_10000.npy"), "application/x-npy");
        assert_eq!(
            media_type("a/b/scene.TIF"),
            "image/tiff; application=geotiff"
        );
        assert_eq!(media_type("x.parquet"), "application/vnd.apache.parquet");
        assert_eq!(media_type("README"), "application/octet-stream");
        assert_eq!(roles("ANNOTATIONS/TARGET_1.npy"), ["labels"]);
        assert_eq!(roles("DATA_S2/S2_1.npy"), ["data"]);
        assert_eq!(roles("metadata.geojson"), ["metadata"]);
        assert!(looks_cloud_optimized(b"II*\0\x08\0\0\0rest"));
        assert!(!looks_cloud_optimized(b"II*\0\x00\x10\0\0"));
        assert!(!looks_cloud_optimized(b"\x93NUMPY"));
    }

    #[test]
    fn tar_layers() {
        let layer = |media_type: &str, title: Option<&str>| Descriptor {
            media_type: media_type.to_owned(),
            digest: String::new(),
            size: 0,
            annotations: title
                .map(|t| {
                    Annotations::from([("org.opencontainers.image.title".to_owned(), t.to_owned())])
                })
                .unwrap_or_default(),
            artifact_type: None,
            platform: None,
        };
        let kind = |media_type, title| tar_compression(&layer(media_type, title));
        let tar = "application/vnd.oci.image.layer.v1.tar";
        assert_eq!(kind(tar, None), Some(Compression::None));
        assert_eq!(
            kind("application/octet-stream", Some("full/1.tar")),
            Some(Compression::None)
        );
        let (gzip, zstd) = (format!("{tar}+gzip"), format!("{tar}+zstd"));
        assert_eq!(kind(&gzip, None), Some(Compression::Gzip));
        assert_eq!(kind(&zstd, None), Some(Compression::Zstd));
        assert_eq!(
            kind("application/gzip", Some("t4/t31tfj.tar.gz")),
            Some(Compression::Gzip)
        );
        assert_eq!(kind("image/tiff", Some("x.tar")), None);
        assert_eq!(kind("application/octet-stream", Some("x.bin")), None);
    }
}
