//! Referrers on their subject's Item: each layer of a signature, SBOM or attestation
//! becomes a `metadata` asset carrying the referrer's `artifactType`, so clients find
//! (and the proxy serves) them beside the data. Partition Items do not repeat them.

use serde_json::{Map, Value, json};

use super::draft::{Context, Draft};

/// Most referrer layers added to one Item.
const MAX_REFERRER_ASSETS: usize = 32;

/// Adds the artifact's referrers as assets of each whole-artifact draft.
pub fn attach(ctx: &Context<'_>, drafts: &mut [Draft]) {
    let referrers = &ctx.artifact.referrers;
    if referrers.is_empty() {
        return;
    }
    for draft in drafts.iter_mut().filter(|d| d.key.starts_with("manifest:")) {
        let layers = referrers
            .iter()
            .flat_map(|r| r.layers.iter().map(move |l| (r, l)));
        for (referrer, layer) in layers.take(MAX_REFERRER_ASSETS) {
            let mut fields = Map::new();
            fields.insert("roles".to_owned(), json!(["metadata"]));
            if let Some(kind) = &referrer.artifact_type {
                fields.insert("oci:artifact_type".to_owned(), json!(kind));
            }
            fields.insert(
                "oci:referrer".to_owned(),
                Value::String(referrer.digest.clone()),
            );
            let hex = referrer.digest.trim_start_matches("sha256:");
            let key = format!("referrer-{}", &hex[..hex.len().min(12)]);
            draft.add_layer_asset(ctx, &key, layer, fields);
        }
    }
}
