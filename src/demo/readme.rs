//! `generic-demo:latest`: an artifact with nothing geospatial, as ORAS pushes a file
//! with no config: the OCI empty config, an `artifactType`, one `text/markdown` layer
//! and the standard manifest annotations.

use std::io;

use serde_json::json;

use super::layout::LayoutWriter;
use super::{CREATED, TITLE};
use crate::source::manifest::OCI_MANIFEST;

/// The repository of the generic demo.
pub const REPOSITORY: &str = "generic-demo";
/// Artifact type of its manifest.
pub const ARTIFACT_TYPE: &str = "application/vnd.example.readme.v1";
/// Media type of the OCI empty descriptor (the 2-byte `{}` blob).
pub const EMPTY: &str = "application/vnd.oci.empty.v1+json";

/// The README layer's text.
const README: &str = "# stac-oci demo\n\n\
This artifact carries no geospatial metadata. The gateway still lists it as a STAC \
Item with a null geometry, its time from `org.opencontainers.image.created`, its title \
and description from the manifest annotations, and this file as its asset.\n";

/// Adds `generic-demo:latest`.
pub fn add(layout: &mut LayoutWriter) -> io::Result<()> {
    let config = layout.add_blob(EMPTY, b"{}".to_vec());
    let mut readme = layout.add_blob("text/markdown", README.as_bytes().to_vec());
    readme
        .annotations
        .insert(TITLE.to_owned(), "README.md".to_owned());
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": ARTIFACT_TYPE,
        "config": config,
        "layers": [readme],
        "annotations": {
            "org.opencontainers.image.title": "stac-oci demo README",
            "org.opencontainers.image.description": "A plain artifact with no geospatial metadata.",
            "org.opencontainers.image.created": CREATED,
        },
    });
    layout.add_manifest(&manifest, REPOSITORY, "latest")
}
