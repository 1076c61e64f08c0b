//! Tests of the whole rule chain on synthetic manifests and the real PASTIS configs.

use std::collections::BTreeMap;

use bytes::Bytes;
use serde_json::{Value, json};

use super::*;
use crate::source::manifest::sha256_digest;
use crate::source::{Annotations, Descriptor};

const TAR: &str = "application/vnd.oci.image.layer.v1.tar";
const CONFIG_JSON: &str = "application/vnd.oci.image.config.v1+json";
const EMPTY: &str = "application/vnd.oci.empty.v1+json";

fn pastis(name: &str) -> Value {
    let path = format!("{}/tests/data/pastis/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn layer(digest: &str, size: u64, media_type: &str, title: Option<&str>) -> Descriptor {
    Descriptor {
        media_type: media_type.to_owned(),
        digest: digest.to_owned(),
        size,
        annotations: title
            .map(|t| Annotations::from([(provenance::TITLE.to_owned(), t.to_owned())]))
            .unwrap_or_default(),
        artifact_type: None,
        platform: None,
    }
}

fn artifact(
    name: &str,
    tags: &[&str],
    config_media_type: &str,
    config: Option<&[u8]>,
    layers: Vec<Descriptor>,
) -> Artifact {
    Artifact {
        source: "local".to_owned(),
        registry: "127.0.0.1:5000".to_owned(),
        repository: "eo/pastis".to_owned(),
        tags: tags.iter().map(|t| (*t).to_owned()).collect(),
        digest: sha256_digest(name.as_bytes()),
        media_type: "application/vnd.oci.image.manifest.v1+json".to_owned(),
        artifact_type: None,
        config: layer(
            &sha256_digest(config.unwrap_or_default()),
            2,
            config_media_type,
            None,
        ),
        config_blob: config.map(Bytes::copy_from_slice),
        layers,
        layer_documents: BTreeMap::new(),
        annotations: BTreeMap::new(),
        index_digest: None,
        platform: None,
        referrers: Vec::new(),
        layer_members: BTreeMap::new(),
    }
}

/// An artifact whose config is `config` and whose layers carry every partition's
/// `layer_digest`, titled `<dir>/<id>.tar` like ORAS pushes them.
fn partition_artifact(
    name: &str,
    tags: &[&str],
    config: &Value,
    array: &str,
    id_key: &str,
) -> Artifact {
    let layers = config[array]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let id = p[id_key].as_str().unwrap();
            layer(
                p["layer_digest"].as_str().unwrap(),
                30_000_000 + i as u64,
                TAR,
                Some(&format!("{name}/{id}.tar")),
            )
        })
        .collect();
    let mut artifact = artifact(
        name,
        tags,
        CONFIG_JSON,
        Some(&serde_json::to_vec(config).unwrap()),
        layers,
    );
    artifact.artifact_type = Some("application/vnd.whatever.v1+tar".to_owned());
    artifact
}

fn lambert() -> MappingOptions {
    MappingOptions {
        crs: Some("EPSG:2154".to_owned()),
        ..MappingOptions::default()
    }
}

fn item<'m>(mapped: &'m MappedRepository, id: &str) -> &'m MappedItem {
    mapped
        .items
        .iter()
        .find(|i| i.id == id)
        .unwrap_or_else(|| panic!("no item {id}"))
}

/// The Item's JSON as the index writes it, footprint included.
fn item_json(item: &MappedItem) -> Map<String, Value> {
    crate::index::IndexedItem::new(item.clone()).to_map()
}

fn assert_in_france(item: &MappedItem) {
    let bbox: Vec<f64> = serde_json::from_value(item_json(item)["bbox"].clone()).unwrap();
    assert!(
        bbox[0] > -5.0 && bbox[2] < 10.0 && bbox[1] > 41.0 && bbox[3] < 52.0,
        "{}: {bbox:?}",
        item.id
    );
    fn positions(value: &Value, out: &mut Vec<[f64; 2]>) {
        match value.as_array().map(Vec::as_slice) {
            Some([Value::Number(x), Value::Number(y), ..]) => {
                out.push([x.as_f64().unwrap(), y.as_f64().unwrap()])
            }
            Some(parts) => parts.iter().for_each(|p| positions(p, out)),
            None => panic!("not coordinates: {value}"),
        }
    }
    let mut all = Vec::new();
    positions(&item_json(item)["geometry"]["coordinates"], &mut all);
    assert!(all.len() >= 5);
    for [lon, lat] in all {
        assert!(
            (-5.0..10.0).contains(&lon) && (41.0..52.0).contains(&lat),
            "{}: {lon} {lat}",
            item.id
        );
    }
}

/// What every Item must be to be valid STAC 1.0.0 as the API serves it.
fn assert_valid_item(item: &MappedItem) {
    let json = &item_json(item);
    assert_eq!(json["type"], "Feature");
    assert_eq!(json["stac_version"], "1.0.0");
    assert_eq!(json["id"], item.id.as_str());
    assert!(!json.contains_key("links"));
    assert!(
        item.id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c)),
        "{}",
        item.id
    );
    match &json["geometry"] {
        Value::Null => assert!(!json.contains_key("bbox")),
        geometry => assert!(geometry.is_object() && json["bbox"].is_array()),
    }
    let properties = json["properties"].as_object().unwrap();
    match &properties["datetime"] {
        Value::String(_) => {}
        Value::Null => assert!(
            properties["start_datetime"].is_string() && properties["end_datetime"].is_string()
        ),
        other => panic!("datetime {other}"),
    }
    for key in [
        "oci:registry",
        "oci:repository",
        "oci:digest",
        "oci:artifact_type",
        "oci:tags",
    ] {
        assert!(properties.contains_key(key), "{} lacks {key}", item.id);
    }
    for (key, blob) in &item.assets {
        let asset = &json["assets"][key];
        let href = format!(
            "collections/{}/items/{}/assets/{key}/{}",
            item.collection, item.id, blob.file_name
        );
        assert_eq!(asset["href"], href.as_str());
        assert_eq!(asset["type"], &*blob.media_type);
        assert_eq!(asset["file:size"], blob.size);
        assert!(
            json["stac_extensions"]
                .as_array()
                .unwrap()
                .contains(&json!(provenance::FILE_EXTENSION))
        );
    }
    for (key, asset) in json["assets"].as_object().unwrap() {
        assert!(
            asset["href"].is_string(),
            "asset {key} of {} has no href",
            item.id
        );
    }
}

#[test]
fn maps_pastis_sample_patches() {
    let config = pastis("sample-config.json");
    let sample = partition_artifact("sample", &["sample"], &config, "patches", "patch_id");
    let mapped = map_repository("eo/pastis", vec![sample.clone()], &lambert());
    assert!(mapped.errors.is_empty(), "{:?}", mapped.errors);
    let ids: Vec<&str> = mapped.items.iter().map(|i| i.id.as_str()).collect();
    assert_eq!(ids, ["10000", "10001", "10002"]);
    for item in &mapped.items {
        assert_valid_item(item);
        assert_in_france(item);
        assert_eq!(&*item.collection, "eo-pastis");
    }
    let patch = item(&mapped, "10000");
    let json = item_json(patch);
    let properties = &json["properties"];
    assert_eq!(properties["parcel_count"], 119);
    assert_eq!(properties["datetime"], Value::Null);
    assert_eq!(properties["start_datetime"], "2018-09-24T00:00:00Z");
    assert_eq!(properties["end_datetime"], "2019-12-04T23:59:59Z");
    assert_eq!(properties["oci:tags"], json!(["sample"]));
    assert_eq!(properties["oci:digest"], sample.digest.as_str());
    assert_eq!(
        properties["oci:artifact_type"],
        "application/vnd.whatever.v1+tar"
    );
    assert_eq!(properties["oci:registry"], "127.0.0.1:5000");
    assert!(properties.get("patch_id").is_none() && properties.get("layer_digest").is_none());
    assert_eq!(item_json(patch)["geometry"]["type"], "MultiPolygon");
    let asset = &patch.item["assets"]["data"];
    assert_eq!(
        asset["href"],
        "collections/eo-pastis/items/10000/assets/data/10000.tar"
    );
    assert_eq!(asset["title"], "sample/10000.tar");
    assert_eq!(asset["roles"], json!(["data"]));
    assert_eq!(
        asset["file:checksum"],
        "12207cff937ff47cf327ab3fe27310da670719f87e86cd1f72c24459c3b542e505e0"
    );
    let blob = &patch.assets["data"];
    assert_eq!(
        blob.digest,
        "sha256:7cff937ff47cf327ab3fe27310da670719f87e86cd1f72c24459c3b542e505e0"
    );
    assert_eq!(
        (&*blob.source, &*blob.repository, blob.file_name.as_str()),
        ("local", "eo/pastis", "10000.tar")
    );
    let other = &item(&mapped, "10001").assets["data"];
    assert!(
        Arc::ptr_eq(&blob.source, &other.source)
            && Arc::ptr_eq(&blob.repository, &other.repository)
            && Arc::ptr_eq(&blob.media_type, &other.media_type),
        "an artifact's blob refs share their names"
    );
    assert!(Arc::ptr_eq(
        &patch.collection,
        &item(&mapped, "10001").collection
    ));

    let collection = &mapped.collection.collection;
    assert_eq!(mapped.collection.id, "eo-pastis");
    assert_eq!(collection["type"], "Collection");
    assert_eq!(collection["title"], "PASTIS-HD");
    assert_eq!(collection["license"], "etalab-2.0");
    assert_eq!(
        collection["providers"],
        json!([{"name": "IGN", "roles": ["producer"]}])
    );
    assert_eq!(collection["oci:config"], json!({"tile": "t30uxv"}));
    assert!(!collection.contains_key("links"));
    assert_eq!(
        collection["extent"]["temporal"]["interval"],
        json!([["2018-09-24T00:00:00Z", "2019-12-04T23:59:59Z"]])
    );
    let bbox: Vec<f64> =
        serde_json::from_value(collection["extent"]["spatial"]["bbox"][0].clone()).unwrap();
    assert!(
        bbox[0] > -5.0 && bbox[2] < 10.0 && bbox[1] > 41.0 && bbox[3] < 52.0,
        "{bbox:?}"
    );
}

#[test]
fn maps_pastis_t4_tiles() {
    let config = pastis("config-t4.json");
    let full = partition_artifact("t4", &["full"], &config, "tiles", "tile");
    let mapped = map_repository("pastis-t4", vec![full], &lambert());
    assert!(mapped.errors.is_empty(), "{:?}", mapped.errors);
    assert_eq!(mapped.items.len(), 4);
    for item in &mapped.items {
        assert_valid_item(item);
        assert_in_france(item);
    }
    let tile = item(&mapped, "t30uxv");
    let properties = &tile.item["properties"];
    // The union of S1A (20181004–20191204), S1D (20181002–20191202), S2 (20180924–20191019).
    assert_eq!(properties["start_datetime"], "2018-09-24T00:00:00Z");
    assert_eq!(properties["end_datetime"], "2019-12-04T23:59:59Z");
    assert_eq!(properties["temporal_coverage"]["S1A"]["count"], 65);
    assert_eq!(item_json(tile)["geometry"]["type"], "Polygon");
    assert_eq!(tile.assets["data"].file_name, "t30uxv.tar");
}

#[test]
fn maps_pastis_2433_and_dedups_the_sample() {
    let full = partition_artifact(
        "full",
        &["full"],
        &pastis("config-2433.json"),
        "patches",
        "patch_id",
    );
    let sample = partition_artifact(
        "sample",
        &["sample"],
        &pastis("sample-config.json"),
        "patches",
        "patch_id",
    );
    let mapped = map_repository(
        "pastis-2433",
        vec![sample.clone(), full.clone()],
        &lambert(),
    );
    assert!(mapped.errors.is_empty(), "{:?}", mapped.errors);
    assert_eq!(mapped.items.len(), 2433);
    let ids: std::collections::HashSet<&str> = mapped.items.iter().map(|i| i.id.as_str()).collect();
    assert_eq!(ids.len(), 2433);
    for item in &mapped.items {
        assert_valid_item(item);
        assert_in_france(item);
    }
    let shared = item(&mapped, "10000");
    assert_eq!(
        shared.item["properties"]["oci:tags"],
        json!(["full", "sample"])
    );
    assert_eq!(
        item_json(shared)["properties"]["oci:digest"],
        full.digest.as_str()
    );
    assert_eq!(
        item(&mapped, "40562").item["properties"]["oci:tags"],
        json!(["full"])
    );

    // Whatever order the crawl hands the artifacts in.
    let reversed = map_repository("pastis-2433", vec![full, sample], &lambert());
    let first: Vec<(&str, &Value)> = mapped
        .items
        .iter()
        .map(|i| (i.id.as_str(), &i.item["properties"]))
        .collect();
    let second: Vec<(&str, &Value)> = reversed
        .items
        .iter()
        .map(|i| (i.id.as_str(), &i.item["properties"]))
        .collect();
    assert_eq!(first, second);
}

#[test]
fn rejects_projected_footprints_without_crs_per_artifact() {
    let sample = partition_artifact(
        "sample",
        &["sample"],
        &pastis("sample-config.json"),
        "patches",
        "patch_id",
    );
    let other = artifact("chart", &["chart"], EMPTY, Some(b"{}"), vec![]);
    let mapped = map_repository(
        "eo/pastis",
        vec![sample.clone(), other],
        &MappingOptions::default(),
    );
    assert_eq!(mapped.errors.len(), 1);
    assert_eq!(mapped.errors[0].digest, sample.digest);
    assert!(
        mapped.errors[0]
            .reason
            .starts_with("patches[0].geometry: coordinates"),
        "{}",
        mapped.errors[0]
    );
    assert_eq!(mapped.items.len(), 1);

    // A CRS named in the config itself needs no option.
    let mut config = pastis("sample-config.json");
    config["crs"] = json!("EPSG:2154");
    let named = partition_artifact("sample", &["sample"], &config, "patches", "patch_id");
    let mapped = map_repository("eo/pastis", vec![named], &MappingOptions::default());
    assert!(mapped.errors.is_empty(), "{:?}", mapped.errors);
    assert_in_france(item(&mapped, "10001"));
}

#[test]
fn garbage_configs_fail_alone() {
    let digest = sha256_digest(b"layer");
    let one_layer = || vec![layer(&digest, 10, TAR, Some("a.tar"))];
    let patch = |extra: Value| {
        let mut p = json!({"patch_id": "1", "layer_digest": digest, "bbox": [1, 2, 3, 4], "datetime": "2020-01-01"});
        p.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        json!({"patches": [p]})
    };
    let huge: Vec<u64> = (0..200_000).collect();
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (b"{not json".to_vec(), "config: invalid JSON"),
        (
            serde_json::to_vec(&json!({ "patches": huge })).unwrap(),
            "patches[0]: not an object",
        ),
        (
            serde_json::to_vec(&patch(json!({"patch_id": {"x": 1}}))).unwrap(),
            "patches[0].patch_id",
        ),
        (
            serde_json::to_vec(&patch(json!({"layer_digest": 5}))).unwrap(),
            "patches[0].layer_digest: not a string",
        ),
        (
            serde_json::to_vec(&patch(json!({"layer_digest": sha256_digest(b"other")}))).unwrap(),
            "is not a layer of the manifest",
        ),
        (
            serde_json::to_vec(&patch(json!({"bbox": [1, 2, 3]}))).unwrap(),
            "patches[0].bbox",
        ),
        (
            serde_json::to_vec(&patch(json!({"bbox": null, "geometry": "POINT(1 2)"}))).unwrap(),
            "patches[0].geometry",
        ),
        (
            serde_json::to_vec(&patch(json!({"datetime": "yesterday"}))).unwrap(),
            "patches[0].datetime",
        ),
        (
            serde_json::to_vec(&patch(
                json!({"datetime": null, "start": "2020-02-01", "end": "2020-01-01"}),
            ))
            .unwrap(),
            "is after end",
        ),
        (
            serde_json::to_vec(&patch(json!({"crs": "EPSG:99999"}))).unwrap(),
            "unsupported CRS",
        ),
        (
            serde_json::to_vec(&json!({"a": [{"digest": digest}], "b": [{"digest": digest}]}))
                .unwrap(),
            "ambiguous partition index",
        ),
        (
            serde_json::to_vec(
                &json!({"type": "Feature", "stac_version": "1.0.0", "properties": {}}),
            )
            .unwrap(),
            "config.id",
        ),
    ];
    let good = artifact("good", &["good"], EMPTY, Some(b"{}"), vec![]);
    for (i, (config, expected)) in cases.iter().enumerate() {
        let bad = artifact(
            &format!("bad{i}"),
            &["bad"],
            CONFIG_JSON,
            Some(config),
            one_layer(),
        );
        let mapped = map_repository("r", vec![bad, good.clone()], &MappingOptions::default());
        assert_eq!(mapped.errors.len(), 1, "case {i}: {:?}", mapped.errors);
        assert!(
            mapped.errors[0].reason.contains(expected),
            "case {i}: {}",
            mapped.errors[0]
        );
        assert_eq!(mapped.items.len(), 1, "case {i}");
    }
}

#[test]
fn partition_errors_name_nested_fields() {
    let digest = sha256_digest(b"layer");
    let config = |extra: Value| {
        let good = json!({"patch_id": "0", "layer_digest": digest, "bbox": [1, 2, 3, 4], "datetime": "2020-01-01"});
        let mut bad = good.clone();
        bad.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        serde_json::to_vec(&json!({"patches": [good, bad]})).unwrap()
    };
    let cases = [
        (
            json!({"patch_id": {"x": 1}}),
            "patches[1].patch_id: not a usable id (a non-empty string or a number)",
        ),
        (
            json!({"bbox": null, "geometry": {"type": "MultiPolygon", "coordinates": [[
                [[0, 0], [1, 0], [1, 1], [0, 0]],
                [[0, 0], [1, "x"], [1, 1], [0, 0]],
            ]]}}),
            "patches[1].geometry.coordinates[0][1][1]: position is not numbers",
        ),
        (
            json!({"geometry": {"type": "Point", "coordinates": [1, 2], "crs": true}}),
            "patches[1].geometry.crs: expected a CRS name such as \"EPSG:2154\"",
        ),
        (
            json!({"bbox": null, "bounding_box": {"minx": 0}}),
            "patches[1].bounding_box.miny: missing or not a number",
        ),
        (
            json!({"bbox": [391_504, 6_955_430, 392_781, 6_956_805]}),
            "patches[1].bbox: coordinates (391504, 6955430) are outside lon/lat range and no \
             CRS is named (set the source's crs, or crs/epsg in the config)",
        ),
        (
            json!({"datetime": null, "start_datetime": "2020-02-01", "end_datetime": "2020-01-01"}),
            "patches[1]: start 2020-02-01T00:00:00Z is after end 2020-01-01T23:59:59Z",
        ),
        (
            json!({"datetime": null, "temporal_coverage": {"S2": {"start": "2020-01-01", "end": "x"}}}),
            "patches[1].temporal_coverage.S2.end: \"x\" is not a date or date-time \
             (ISO 8601 / RFC 3339 or yyyymmdd)",
        ),
        (
            json!({"datetime": null, "temporal_coverage": {"S1": {"end": "2020-01-01"}}}),
            "patches[1].temporal_coverage.S1.start: missing",
        ),
        (
            json!({}),
            "patches[1]: names the same layer as an earlier partition",
        ),
    ];
    for (i, (extra, expected)) in cases.into_iter().enumerate() {
        let layers = vec![layer(&digest, 10, TAR, Some("a.tar"))];
        let bad = artifact("bad", &["bad"], CONFIG_JSON, Some(&config(extra)), layers);
        let mapped = map_repository("r", vec![bad], &MappingOptions::default());
        assert_eq!(mapped.errors.len(), 1, "case {i}: {:?}", mapped.errors);
        assert_eq!(mapped.errors[0].reason, expected, "case {i}");
    }
}

#[test]
fn maps_generic_artifacts() {
    let layers = vec![
        layer(
            &sha256_digest(b"chart"),
            100,
            "application/vnd.cncf.helm.chart.content.v1.tar+gzip",
            Some("charts/app.tgz"),
        ),
        layer(&sha256_digest(b"notes"), 7, "text/plain", None),
    ];
    let mut chart = artifact("chart", &["v1", "latest"], EMPTY, Some(b"{}"), layers);
    chart.annotations.insert(
        provenance::CREATED.to_owned(),
        "2024-05-06T07:08:09Z".to_owned(),
    );
    chart
        .annotations
        .insert(provenance::TITLE.to_owned(), "My chart".to_owned());
    chart
        .annotations
        .insert(provenance::DESCRIPTION.to_owned(), "A chart".to_owned());
    let bare = artifact("bare", &["bare"], EMPTY, None, vec![]);
    let mapped = map_repository(
        "apps/chart",
        vec![chart.clone(), bare.clone()],
        &MappingOptions::default(),
    );
    assert!(mapped.errors.is_empty());
    let generic = item(&mapped, &ids::digest_id(&chart.digest));
    assert_valid_item(generic);
    assert_eq!(generic.id, format!("sha256-{}", &chart.digest[7..23]));
    assert_eq!(item_json(generic)["geometry"], Value::Null);
    let json = item_json(generic);
    let properties = &json["properties"];
    assert_eq!(properties["datetime"], "2024-05-06T07:08:09Z");
    assert_eq!(properties["title"], "My chart");
    assert_eq!(properties["description"], "A chart");
    assert_eq!(properties["oci:tags"], json!(["latest", "v1"]));
    assert_eq!(properties["oci:artifact_type"], EMPTY);
    let keys: Vec<&String> = generic.assets.keys().collect();
    let notes = format!("{}.bin", &sha256_digest(b"notes")[7..19]);
    assert_eq!(keys, [&notes, &"app.tgz".to_owned()]);
    assert_eq!(
        generic.item["assets"]["app.tgz"]["href"],
        format!(
            "collections/apps-chart/items/{}/assets/app.tgz/app.tgz",
            generic.id
        )
    );
    assert_eq!(mapped.collection.collection["title"], "My chart");

    let bare = item(&mapped, &ids::digest_id(&bare.digest));
    assert_valid_item(bare);
    assert_eq!(
        bare.item["properties"]["start_datetime"],
        "0001-01-01T00:00:00Z"
    );
    assert_eq!(bare.item["assets"], json!({}));
    assert_eq!(
        mapped.collection.collection["extent"]["temporal"]["interval"],
        json!([["2024-05-06T07:08:09Z", "2024-05-06T07:08:09Z"]])
    );
}

#[test]
fn generic_footprint_from_annotations() {
    let mut projected = artifact("projected", &["a"], EMPTY, None, vec![]);
    projected.annotations.insert(
        generic::BBOX_ANNOTATION.to_owned(),
        "391000, 6955000, 393000, 6957000".to_owned(),
    );
    projected
        .annotations
        .insert(generic::CRS_ANNOTATION.to_owned(), "EPSG:2154".to_owned());
    let mut point = artifact("point", &["b"], EMPTY, None, vec![]);
    point.annotations.insert(
        generic::GEOMETRY_ANNOTATION.to_owned(),
        r#"{"type":"Point","coordinates":[2.35,48.85]}"#.to_owned(),
    );
    let mut bad = artifact("bad", &["c"], EMPTY, None, vec![]);
    bad.annotations
        .insert(generic::BBOX_ANNOTATION.to_owned(), "1,2,x,4".to_owned());
    let mapped = map_repository(
        "r",
        vec![projected.clone(), point.clone(), bad],
        &MappingOptions::default(),
    );
    assert_eq!(mapped.errors.len(), 1);
    assert!(
        mapped.errors[0]
            .reason
            .starts_with("annotations.org.stacspec.bbox")
    );
    let projected = item(&mapped, &ids::digest_id(&projected.digest));
    assert_valid_item(projected);
    assert_in_france(projected);
    let point = item(&mapped, &ids::digest_id(&point.digest));
    assert_eq!(item_json(point)["bbox"], json!([2.35, 48.85, 2.35, 48.85]));
}

fn stac_item(id: &str, assets: Value) -> Value {
    json!({
        "type": "Feature", "stac_version": "1.0.0", "id": id,
        "stac_extensions": ["https://stac-extensions.github.io/eo/v1.1.0/schema.json"],
        "geometry": {"type": "Polygon", "coordinates": [[[1, 2], [3, 2], [3, 4], [1, 4], [1, 2]]]},
        "properties": {"datetime": "2021-01-01T00:00:00Z", "eo:cloud_cover": 5, "oci:digest": "forged"},
        "links": [{"rel": "self", "href": "x"}],
        "assets": assets,
    })
}

#[test]
fn maps_a_stac_item_config() {
    let tif = layer(
        &sha256_digest(b"tif"),
        1000,
        "image/tiff; application=geotiff",
        Some("data/scene.tif"),
    );
    let json_layer = layer(
        &sha256_digest(b"json"),
        10,
        "application/json",
        Some("meta.json"),
    );
    let config = stac_item(
        "scene 1",
        json!({
            "visual": {"href": "./data/scene.tif", "roles": ["visual"], "file:size": 1},
            "by-title": {"href": "data/scene.tif"},
            "meta": {"href": json_layer.digest},
            "thumbnail": {"href": "https://example.com/thumb.png", "type": "image/png"},
        }),
    );
    let scene = artifact(
        "scene",
        &["v1"],
        "application/geo+json",
        Some(&serde_json::to_vec(&config).unwrap()),
        vec![tif.clone(), json_layer.clone()],
    );
    let mapped = map_repository("eo/scenes", vec![scene.clone()], &MappingOptions::default());
    assert!(mapped.errors.is_empty(), "{:?}", mapped.errors);
    let item = item(&mapped, "scene_1");
    assert_valid_item(item);
    assert_eq!(item.assets["visual"].digest, tif.digest);
    assert_eq!(item.assets["visual"].file_name, "scene.tif");
    assert_eq!(item.assets["by-title"].digest, tif.digest);
    assert_eq!(item.assets["meta"].digest, json_layer.digest);
    assert!(!item.assets.contains_key("thumbnail"));
    let assets = &item.item["assets"];
    assert_eq!(assets["visual"]["roles"], json!(["visual"]));
    assert_eq!(assets["visual"]["file:size"], 1000);
    assert_eq!(assets["meta"]["roles"], json!(["metadata"]));
    assert_eq!(
        assets["thumbnail"],
        json!({"href": "https://example.com/thumb.png", "type": "image/png"})
    );
    assert_eq!(item_json(item)["bbox"], json!([1.0, 2.0, 3.0, 4.0]));
    assert_eq!(item.item["properties"]["eo:cloud_cover"], 5);
    assert_eq!(
        item_json(item)["properties"]["oci:digest"],
        scene.digest.as_str()
    );
    // Its own extension, file, and version (tagged `v1`).
    assert_eq!(item.item["stac_extensions"].as_array().unwrap().len(), 3);
    assert_eq!(item.item["properties"]["version"], "v1");

    // A relative href naming no layer is an error, not a broken link.
    let broken = stac_item("x", json!({"a": {"href": "missing.tif"}}));
    let broken = artifact(
        "broken",
        &["b"],
        CONFIG_JSON,
        Some(&serde_json::to_vec(&broken).unwrap()),
        vec![tif],
    );
    let mapped = map_repository("eo/scenes", vec![broken], &MappingOptions::default());
    assert!(
        mapped.errors[0].reason.starts_with("config.assets.a.href"),
        "{}",
        mapped.errors[0]
    );
}

#[test]
fn maps_an_item_collection_config_with_id_collisions() {
    let config = json!({"type": "FeatureCollection", "features": [stac_item("a", json!({})), stac_item("a", json!({})), stac_item("b", json!({}))]});
    let collection = artifact(
        "fc",
        &["fc"],
        CONFIG_JSON,
        Some(&serde_json::to_vec(&config).unwrap()),
        vec![],
    );
    let mapped = map_repository("r", vec![collection.clone()], &MappingOptions::default());
    assert!(mapped.errors.is_empty(), "{:?}", mapped.errors);
    let ids: Vec<&str> = mapped.items.iter().map(|i| i.id.as_str()).collect();
    let suffixed = format!("a-{}", &collection.digest[7..19]);
    assert_eq!(ids, ["a", suffixed.as_str(), "b"]);

    let mixed = json!({"type": "FeatureCollection", "features": [stac_item("a", json!({})), {"type": "Feature", "geometry": null, "properties": {}}]});
    let mixed = artifact(
        "mixed",
        &["m"],
        CONFIG_JSON,
        Some(&serde_json::to_vec(&mixed).unwrap()),
        vec![],
    );
    let mapped = map_repository("r", vec![mixed], &MappingOptions::default());
    assert!(
        mapped.errors[0]
            .reason
            .starts_with("config.features[1]: not a STAC Item"),
        "{}",
        mapped.errors[0]
    );
}

#[test]
fn maps_geojson_layer_items() {
    let data = layer(&sha256_digest(b"data"), 500, TAR, Some("10000.tar"));
    let document = stac_item("patch-10000", json!({"data": {"href": "10000.tar"}}));
    let bytes = serde_json::to_vec(&document).unwrap();
    let item_layer = layer(
        &sha256_digest(&bytes),
        bytes.len() as u64,
        "application/geo+json",
        Some("item.json"),
    );
    let mut packaged = artifact(
        "packaged",
        &["p"],
        EMPTY,
        Some(b"{}"),
        vec![data.clone(), item_layer.clone()],
    );
    packaged
        .layer_documents
        .insert(item_layer.digest.clone(), Bytes::from(bytes));
    packaged.index_digest = Some(sha256_digest(b"index"));
    packaged.platform = Some(json!({"os": "linux", "architecture": "amd64"}));
    let mapped = map_repository("r", vec![packaged], &MappingOptions::default());
    assert!(mapped.errors.is_empty(), "{:?}", mapped.errors);
    assert_eq!(mapped.items.len(), 1);
    let item = item(&mapped, "patch-10000");
    assert_valid_item(item);
    assert_eq!(item.assets["data"].digest, data.digest);
    assert_eq!(
        item_json(item)["properties"]["oci:index_digest"],
        sha256_digest(b"index").as_str()
    );
    assert_eq!(
        item_json(item)["properties"]["oci:platform"]["architecture"],
        "amd64"
    );
}

#[test]
fn skips_referrer_fallback_tags() {
    let fallback = format!("sha256-{}", "a".repeat(64));
    let signature = artifact("sig", &[fallback.as_str()], EMPTY, None, vec![]);
    let tagged = artifact("img", &["v1", fallback.as_str()], EMPTY, None, vec![]);
    let mapped = map_repository(
        "r",
        vec![signature, tagged.clone()],
        &MappingOptions::default(),
    );
    assert_eq!(mapped.items.len(), 1);
    assert_eq!(mapped.items[0].id, ids::digest_id(&tagged.digest));
    assert_eq!(
        mapped.items[0].item["properties"]["oci:tags"],
        json!(["v1"])
    );
}

#[test]
fn version_tags_give_version_links() {
    let artifacts = vec![
        artifact("one", &["1.0.0"], EMPTY, Some(b"{}"), vec![]),
        artifact("two", &["v1.1.0"], EMPTY, Some(b"{}"), vec![]),
        artifact("three", &["2.0.0", "latest"], EMPTY, Some(b"{}"), vec![]),
        artifact("other", &["nightly"], EMPTY, Some(b"{}"), vec![]),
    ];
    let mapped = map_repository("eo/pastis", artifacts.clone(), &MappingOptions::default());
    let by_version = |v: &str| {
        mapped
            .items
            .iter()
            .find(|i| i.item["properties"]["version"] == v)
            .unwrap_or_else(|| panic!("no Item of version {v}"))
    };
    let (one, two, three) = (
        by_version("1.0.0"),
        by_version("v1.1.0"),
        by_version("2.0.0"),
    );
    assert_eq!(
        links(one),
        [rel("latest-version", three), rel("successor-version", two)]
    );
    assert_eq!(
        links(two),
        [
            rel("latest-version", three),
            rel("predecessor-version", one),
            rel("successor-version", three)
        ]
    );
    assert_eq!(links(three), [rel("predecessor-version", two)]);
    let extensions = three.item["stac_extensions"].as_array().unwrap();
    assert!(
        extensions
            .iter()
            .any(|e| e.as_str().unwrap().contains("/version/"))
    );
    let nightly = mapped
        .items
        .iter()
        .find(|i| i.item["properties"]["oci:tags"] == json!(["nightly"]))
        .unwrap();
    assert!(nightly.links.is_empty());
    assert!(nightly.item["properties"].get("version").is_none());
}

/// Artifacts whose Items merge across artifacts: partitions shared by a larger artifact
/// and two smaller ones mapped after an unrelated one, a partition id taken by another
/// layer, the same manifest listed twice (its second tags giving it a version), version
/// tags, and a config that fails.
fn merging_artifacts() -> Vec<Artifact> {
    let sample = pastis("sample-config.json");
    let mut full = partition_artifact("full", &["full"], &sample, "patches", "patch_id");
    for layer in &mut full.layers {
        layer.size *= 100;
    }
    let tiles = partition_artifact("t4", &["t4"], &pastis("config-t4.json"), "tiles", "tile");
    let mut part = sample.clone();
    part["patches"] = json!([sample["patches"][1].clone()]);
    let part = partition_artifact("part", &["part"], &part, "patches", "patch_id");
    let mut copy = sample.clone();
    copy["patches"][0]["layer_digest"] = json!(sha256_digest(b"elsewhere"));
    let copy = partition_artifact("copy", &["copy"], &copy, "patches", "patch_id");
    let generic = |name: &str, tags: &[&str]| artifact(name, tags, EMPTY, Some(b"{}"), vec![]);
    vec![
        generic("one", &["1.0.0"]),
        part,
        generic("four", &["nightly"]),
        tiles,
        generic("two", &["v1.1.0", "latest"]),
        copy,
        generic("one", &["stable"]),
        artifact("bad", &["bad"], CONFIG_JSON, Some(b"{not json"), vec![]),
        full,
        generic("three", &["2.0.0"]),
        generic("four", &["3.0.0"]),
    ]
}

/// Everything a mapping gives, as JSON.
fn outcome(mapped: &MappedRepository) -> Value {
    let items: Vec<Value> = mapped
        .items
        .iter()
        .map(|i| {
            let links: Vec<(&str, &str)> =
                i.links.iter().map(|l| (l.rel.as_str(), l.item.as_str())).collect();
            let assets: Vec<String> = i.assets.iter().map(|a| format!("{a:?}")).collect();
            json!({"collection": &*i.collection, "id": i.id, "item": item_json(i), "links": links, "assets": assets})
        })
        .collect();
    let errors: Vec<String> = mapped.errors.iter().map(|e| e.to_string()).collect();
    json!({"collection": [mapped.collection.id.clone(), Value::Object(mapped.collection.collection.clone())], "items": items, "errors": errors})
}

#[test]
fn merges_across_artifacts_whatever_the_batches() {
    let artifacts = merging_artifacts();
    let keep = |item: MappedItem| item;
    let at_once = map_in_batches(
        "eo/pastis",
        artifacts.clone(),
        &lambert(),
        usize::MAX,
        &keep,
    );
    for weight in [1, 2, 5] {
        let batched = map_in_batches("eo/pastis", artifacts.clone(), &lambert(), weight, &keep);
        assert_eq!(
            outcome(&batched),
            outcome(&at_once),
            "batch weight {weight}"
        );
    }
    let mapped = map_repository("eo/pastis", artifacts.clone(), &lambert());
    assert_eq!(outcome(&mapped), outcome(&at_once));

    assert_eq!(mapped.errors.len(), 1, "{:?}", mapped.errors);
    let full = &artifacts[8];
    let shared = item(&mapped, "10001");
    assert_eq!(
        shared.item["properties"]["oci:tags"],
        json!(["copy", "full", "part"])
    );
    assert_eq!(
        item_json(shared)["properties"]["oci:digest"],
        full.digest.as_str()
    );
    assert_eq!(
        item_json(item(&mapped, "10000"))["properties"]["oci:digest"],
        full.digest.as_str()
    );
    let elsewhere = format!("10000-{}", &sha256_digest(b"elsewhere")[7..19]);
    assert_eq!(
        item(&mapped, &elsewhere).item["properties"]["oci:tags"],
        json!(["copy"])
    );

    let by_tag = |tag: &str| {
        mapped
            .items
            .iter()
            .find(|i| {
                i.item["properties"]["oci:tags"]
                    .as_array()
                    .unwrap()
                    .contains(&json!(tag))
            })
            .unwrap_or_else(|| panic!("no Item tagged {tag}"))
    };
    let (one, two, three, four) = (
        by_tag("1.0.0"),
        by_tag("v1.1.0"),
        by_tag("2.0.0"),
        by_tag("3.0.0"),
    );
    assert_eq!(
        one.item["properties"]["oci:tags"],
        json!(["1.0.0", "stable"])
    );
    assert_eq!(
        four.item["properties"]["oci:tags"],
        json!(["3.0.0", "nightly"])
    );
    assert_eq!(four.item["properties"]["version"], "3.0.0");
    assert_eq!(
        links(three),
        [
            rel("latest-version", four),
            rel("predecessor-version", two),
            rel("successor-version", four)
        ]
    );
    assert_eq!(links(four), [rel("predecessor-version", three)]);
    assert_eq!(links(one)[0], rel("latest-version", four));
}

/// An Item's links as (rel, Item id) pairs.
fn links(item: &MappedItem) -> Vec<(String, String)> {
    item.links
        .iter()
        .map(|l| (l.rel.clone(), l.item.clone()))
        .collect()
}

/// A link to `item` with relation `r`, as [`links`] gives it.
fn rel(r: &str, item: &MappedItem) -> (String, String) {
    (r.to_owned(), item.id.clone())
}

#[test]
fn names_clashing_asset_keys_in_turn() {
    let layers: Vec<Descriptor> = (0u8..3)
        .map(|i| layer(&sha256_digest(&[i]), 1, TAR, None))
        .collect();
    let artifact = artifact("clash", &["v1"], CONFIG_JSON, None, layers.clone());
    let options = MappingOptions::default();
    let ctx = draft::Context::new(&artifact, &options);
    let mut draft = draft::Draft::new(&ctx, "x".into(), "manifest:x#0".into(), &artifact.digest);
    for layer in &layers {
        draft.add_layer_asset(&ctx, "data", layer, serde_json::Map::new());
    }
    draft.add_external_asset("data-2", serde_json::Map::new());
    draft.add_external_asset("data", serde_json::Map::new());
    draft.add_external_asset("Data", serde_json::Map::new());
    let keys: Vec<&str> = draft.assets.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        ["data", "data-2", "data-3", "data-2-2", "data-4", "Data"]
    );
    assert_eq!(draft.blobs.len(), 3);
}
