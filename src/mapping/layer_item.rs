//! Rule 4: layers that are STAC Items (`application/geo+json`, or annotated as STAC), as
//! fetched by the crawl into `Artifact::layer_documents`.

use serde_json::Value;

use super::draft::{Context, Draft};
use super::stac_config::{drafts, is_stac_item, item_collection_features};

/// Rule 4: the Items of every layer document that is a STAC Item or ItemCollection, in
/// manifest order; `None` when no layer document is. Documents that are not JSON or not
/// STAC are left to the generic rule.
pub fn map(ctx: &Context<'_>) -> Option<Result<Vec<Draft>, String>> {
    let artifact = ctx.artifact;
    let mut found = false;
    let mut all = Vec::new();
    for (i, layer) in artifact.layers.iter().enumerate() {
        let Some(bytes) = artifact.layer_documents.get(&layer.digest) else {
            continue;
        };
        let Ok(document) = serde_json::from_slice::<Value>(bytes) else {
            continue;
        };
        let field = format!("layers[{i}]");
        let origin = format!("manifest:{}", artifact.digest);
        let mapped = if is_stac_item(&document) {
            super::stac_config::draft(ctx, &document, &format!("{origin}#{field}"), &field)
                .map(|d| vec![d])
        } else if let Some(features) = item_collection_features(&document) {
            drafts(ctx, features, &origin, &field)
        } else {
            continue;
        };
        found = true;
        match mapped {
            Ok(drafts) => all.extend(drafts),
            Err(e) => return Some(Err(e)),
        }
    }
    found.then_some(Ok(all))
}
