//! Files inside tar layers as assets: for each uncompressed tar layer asset of an Item,
//! one asset per member served as a byte range of the layer, with `type` from its
//! extension (`profile=cloud-optimized` for a TIFF laid out as a COG), roles from its
//! folders, and `file:size`. The Item lists at most `max_member_assets` of them; the
//! others are servable all the same and listed at `…/items/{id}/members`. The layer
//! asset says how many members it has, or why it could not be read.

use serde_json::{Map, Value, json};

use super::draft::{Context, Draft};
use super::ids::sanitize;
use super::{BlobRef, TarMember};
use crate::members::{self, Compression};

/// Adds the member assets of each draft's tar layers.
pub fn attach(ctx: &Context<'_>, drafts: &mut [Draft]) {
    let max_listed = ctx.options.max_member_assets;
    let indexes = &ctx.artifact.layer_members;
    if indexes.is_empty() {
        return;
    }
    for draft in drafts.iter_mut() {
        let layers: Vec<(String, BlobRef)> = draft
            .blobs
            .iter()
            .filter(|(_, blob)| {
                blob.member.is_none() && indexes.contains_key(&blob.digest.to_string())
            })
            .map(|(key, blob)| (key.clone(), blob.clone()))
            .collect();
        let mut listed = 0;
        for (layer_key, layer) in layers {
            let note = match &indexes[&layer.digest.to_string()] {
                Ok(index) => {
                    for member in index.members.iter() {
                        let compression = index.compression;
                        add_member(
                            draft,
                            &layer_key,
                            &layer,
                            member,
                            compression,
                            listed < max_listed,
                        );
                        listed += 1;
                    }
                    ("oci:member_count", json!(index.members.len()))
                }
                Err(reason) => ("oci:members_error", json!(reason)),
            };
            if let Some(asset) = draft
                .assets
                .get_mut(&layer_key)
                .and_then(Value::as_object_mut)
            {
                asset.insert(note.0.to_owned(), note.1);
            }
        }
    }
}

fn add_member(
    draft: &mut Draft,
    layer_key: &str,
    layer: &BlobRef,
    member: &members::Member,
    compression: Compression,
    listed: bool,
) {
    let name = member.path.rsplit('/').next().unwrap_or(&member.path);
    let file_name = sanitize(name).unwrap_or_else(|| "member".to_owned());
    let mut media_type = members::media_type(&member.path).to_owned();
    if media_type.starts_with("image/tiff") && members::looks_cloud_optimized(&member.head) {
        media_type.push_str("; profile=cloud-optimized");
    }
    let mut fields = Map::new();
    fields.insert("type".to_owned(), json!(media_type));
    fields.insert("title".to_owned(), json!(member.path));
    fields.insert("roles".to_owned(), json!(members::roles(&member.path)));
    fields.insert("file:size".to_owned(), json!(member.size));
    fields.insert("oci:layer".to_owned(), json!(layer_key));
    let blob = BlobRef {
        size: member.size,
        media_type: media_type.into(),
        file_name,
        member: Some(Box::new(TarMember {
            path: member.path.clone(),
            offset: member.offset,
            compression,
            layer_size: layer.size,
        })),
        ..layer.clone()
    };
    let key = member.path.replace('/', "-");
    if listed {
        draft.add_blob_asset(&key, blob, fields);
    } else {
        draft.add_unlisted_blob(&key, blob);
    }
}
