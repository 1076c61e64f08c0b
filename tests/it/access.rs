//! Access control against a real registry and the gateway binary: what a principal may
//! not read does not exist for it on any endpoint (the leak probe), signed asset hrefs
//! open exactly one asset until they expire (GDAL reads a COG through one), registry
//! credentials pass through to the registry's own verdict, and no secret reaches a log
//! line or a response.

use std::collections::BTreeSet;
use std::sync::Arc;

use base64::Engine;
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use sha2::Digest;

use crate::support::client::gdal_tool;
use crate::support::fixtures;
use crate::support::gateway::Gateway;
use crate::support::registry::TestRegistry;

const ALICE_KEY: &str = "alice-api-key-7c1e2d9b04f6";
const JWT_SECRET: &str = "jwt-hs256-secret-5b8e1f0c2a7d4e9f3c6b";
const SIGNING_SECRET: &str = "signing-secret-0f9e8d7c6b5a4f3e2d1c0b";
const OLD_SIGNING_SECRET: &str = "old-signing-secret-a1b2c3d4e5f6a7b8c9d0";
const ISSUER: &str = "https://id.example.test";
/// Collections everyone may read.
const PUBLIC: [&str; 3] = ["generic", "multi-platform", "two-tags"];

/// Who sends a request.
#[derive(Clone)]
enum Who {
    Anonymous,
    Key(&'static str),
    Bearer(String),
    Basic(&'static str, &'static str),
}

struct Answer {
    status: StatusCode,
    headers: reqwest::header::HeaderMap,
    text: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }
}

async fn send(client: &Client, request: reqwest::RequestBuilder, who: &Who) -> Answer {
    let _ = client;
    let request = match who {
        Who::Anonymous => request,
        Who::Key(key) => request.header("x-api-key", *key),
        Who::Bearer(token) => request.bearer_auth(token),
        Who::Basic(user, password) => request.basic_auth(user, Some(password)),
    };
    let response = request.send().await.expect("request");
    Answer {
        status: response.status(),
        headers: response.headers().clone(),
        text: response.text().await.unwrap_or_default(),
    }
}

async fn get(client: &Client, url: &str, who: &Who) -> Answer {
    send(client, client.get(url), who).await
}

async fn post(client: &Client, url: &str, body: &Value, who: &Who) -> Answer {
    send(client, client.post(url).json(body), who).await
}

fn jwt(claims: Value) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(JWT_SECRET.as_bytes()),
    )
    .unwrap()
}

fn bob_token() -> String {
    let exp = chrono::Utc::now().timestamp() + 600;
    jwt(json!({"iss": ISSUER, "aud": "stac-oci", "sub": "bob", "groups": ["eo"], "exp": exp}))
}

fn access_config(signing_keys: &str, ttl: &str) -> String {
    let alice_sha = hex::encode(sha2::Sha256::digest(ALICE_KEY.as_bytes()));
    format!(
        r#"
[access]
enabled = true
public_collections = ["generic", "two-tags", "multi-platform"]
signed_url_ttl = "{ttl}"
{signing_keys}

[[access.api_keys]]
name = "alice"
sha256 = "{alice_sha}"

[access.jwt]
issuer = "{ISSUER}"
audience = "stac-oci"
hs256_secret = "{JWT_SECRET}"

[[access.policies]]
collections = ["*"]
api_keys = ["alice"]
operator = true

[[access.policies]]
collections = ["stac-item"]
groups = ["eo"]
"#
    )
}

fn signing_keys(keys: &[(&str, &str)]) -> String {
    keys.iter()
        .map(|(id, secret)| {
            format!("[[access.signing_keys]]\nid = \"{id}\"\nsecret = \"{secret}\"\n")
        })
        .collect()
}

/// The ids of the Collections a `/collections` answer lists (which must be a 200).
fn collection_ids(answer: &Answer) -> BTreeSet<String> {
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    answer.json()["collections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect()
}

/// The first asset href of an Item that `wanted` accepts.
fn asset_href(item: &Value, wanted: impl Fn(&str) -> bool) -> String {
    item["assets"]
        .as_object()
        .unwrap()
        .values()
        .find_map(|a| a["href"].as_str().filter(|h| wanted(h)))
        .unwrap_or_else(|| panic!("no such asset in {item}"))
        .to_owned()
}

/// Every Item `who` may read, in one page.
async fn all_items(client: &Client, base: &str, who: &Who) -> Vec<Value> {
    let answer = get(client, &format!("{base}/search?limit=10000"), who).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    let page = answer.json();
    assert!(
        page["links"]
            .as_array()
            .unwrap()
            .iter()
            .all(|l| l["rel"] != "next")
    );
    page["features"].as_array().unwrap().clone()
}

/// What must never show to a principal: the ids of collections and Items it may not
/// read, in the forms responses would carry them.
struct Hidden {
    collections: Vec<String>,
    markers: Vec<String>,
}

impl Hidden {
    fn check(&self, what: &str, text: &str) {
        for marker in &self.markers {
            assert!(
                !text.contains(marker.as_str()),
                "{what} reveals {marker}: {}",
                &text[..text.len().min(2000)]
            );
        }
    }
}

async fn hidden_from(
    client: &Client,
    base: &str,
    visible: &BTreeSet<String>,
    everything: &[Value],
) -> Hidden {
    let _ = (client, base);
    let mut collections = BTreeSet::new();
    let mut visible_ids = BTreeSet::new();
    for item in everything {
        let collection = item["collection"].as_str().unwrap().to_owned();
        if visible.contains(&collection) {
            visible_ids.insert(item["id"].as_str().unwrap().to_owned());
        } else {
            collections.insert(collection);
        }
    }
    let mut markers: Vec<String> = collections
        .iter()
        .flat_map(|c| [format!("\"{c}\""), format!("/collections/{c}")])
        .collect();
    for item in everything {
        let id = item["id"].as_str().unwrap();
        if !visible.contains(item["collection"].as_str().unwrap()) && !visible_ids.contains(id) {
            markers.push(format!("\"{id}\""));
        }
    }
    Hidden {
        collections: collections.into_iter().collect(),
        markers,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_hidden_leaks_and_signed_hrefs_open_one_asset() {
    let registry = TestRegistry::start().await;
    let pushed = fixtures::push_all(&registry).await;
    let keys = signing_keys(&[("k2", SIGNING_SECRET), ("k1", OLD_SIGNING_SECRET)]);
    let config = format!(
        "{}\n{}",
        access_config(&keys, "10m"),
        fixtures::gateway_config(&registry.url)
    );
    let gateway = Gateway::start_with_log(&config, "debug").await;
    let client = Client::new();
    let base = gateway.url.clone();
    let alice = Who::Key(ALICE_KEY);
    let bob = Who::Bearer(bob_token());

    let everything = all_items(&client, &base, &alice).await;
    let total: usize = pushed.expected.values().sum();
    assert_eq!(everything.len(), total, "alice reads every collection");

    let public: BTreeSet<String> = PUBLIC.iter().map(|s| s.to_string()).collect();
    let mut bobs = public.clone();
    bobs.insert("stac-item".into());
    for (who, visible) in [(Who::Anonymous, &public), (bob.clone(), &bobs)] {
        let hidden = hidden_from(&client, &base, visible, &everything).await;
        assert!(!hidden.collections.is_empty());
        probe(&client, &base, &who, visible, &hidden, &everything).await;
    }
    pystac_client_sees_what_it_may(&base, &public, &everything);
    tokens_of_another_principal(&client, &base, &alice, &bob, &everything).await;
    signed_hrefs(&client, &base, &alice, &bob, &pushed).await;
    refused_credentials(&client, &base).await;

    let log = gateway.log();
    let basic = base64::engine::general_purpose::STANDARD.encode("someone:registry-password");
    for secret in [
        ALICE_KEY,
        JWT_SECRET,
        SIGNING_SECRET,
        OLD_SIGNING_SECRET,
        &bob_token()[..40],
        "registry-password",
        &basic,
    ] {
        assert!(!log.contains(secret), "the log contains a secret: {secret}");
    }
    assert!(log.contains("GET"), "the log records requests: {log}");
    assert!(!log.contains("signature="), "the log holds signed hrefs");
}

/// Every endpoint and parameter that could reveal a hidden Item, as `who`.
async fn probe(
    client: &Client,
    base: &str,
    who: &Who,
    visible: &BTreeSet<String>,
    hidden: &Hidden,
    everything: &[Value],
) {
    let bodies: std::cell::RefCell<Vec<(String, String)>> = Default::default();
    let fetch = async |url: String| {
        let answer = get(client, &url, who).await;
        bodies.borrow_mut().push((url, answer.text.clone()));
        answer
    };

    // The landing page and the collection list show exactly the visible collections.
    let landing = fetch(format!("{base}/")).await.json();
    let children: BTreeSet<String> = landing["links"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["rel"] == "child")
        .map(|l| {
            l["href"]
                .as_str()
                .unwrap()
                .rsplit('/')
                .next()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(&children, visible);
    let listed = fetch(format!("{base}/collections?limit=100")).await.json();
    let ids: BTreeSet<String> = listed["collections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(&ids, visible);
    assert_eq!(listed["numberMatched"], visible.len());
    for query in [
        "bbox=-180,-90,180,90",
        "datetime=1900-01-01T00:00:00Z/..",
        "q=pastis,scene,stac,item,sentinel",
        "limit=1",
    ] {
        let page = fetch(format!("{base}/collections?{query}")).await.json();
        assert!(page["numberMatched"].as_u64().unwrap() <= visible.len() as u64);
    }

    // A hidden collection, its Items, assets, members and queryables answer exactly like
    // ones that never existed.
    let absent = fetch(format!("{base}/collections/no-such-collection")).await;
    assert_eq!(absent.status, StatusCode::NOT_FOUND);
    for collection in &hidden.collections {
        let item = everything
            .iter()
            .find(|i| i["collection"] == collection.as_str())
            .unwrap();
        let id = item["id"].as_str().unwrap();
        let (key, asset) = item["assets"]
            .as_object()
            .unwrap()
            .iter()
            .find(|(_, a)| a["href"].as_str().unwrap().contains("/assets/"))
            .unwrap();
        let file = asset["href"].as_str().unwrap();
        let file = file.split('?').next().unwrap().rsplit('/').next().unwrap();
        let c = collection;
        for path in [
            format!("/collections/{c}"),
            format!("/collections/{c}/items"),
            format!("/collections/{c}/items?limit=1"),
            format!("/collections/{c}/items/{id}"),
            format!("/collections/{c}/items/{id}/members"),
            format!("/collections/{c}/queryables"),
            format!("/collections/{c}/items/{id}/assets/{key}/{file}"),
        ] {
            let answer = fetch(format!("{base}{path}")).await;
            assert_eq!(
                answer.status,
                StatusCode::NOT_FOUND,
                "{path}: {}",
                answer.text
            );
            let unknown = path.replacen(c.as_str(), "no-such-collection", 1);
            let twin = fetch(format!("{base}{unknown}")).await;
            assert_eq!(
                answer.text.replace(c.as_str(), "X"),
                twin.text.replace("no-such-collection", "X"),
                "{path} differs from a collection that does not exist"
            );
        }
        // HEAD of an asset too.
        let head = send(
            client,
            client.head(format!(
                "{base}/collections/{c}/items/{id}/assets/{key}/{file}"
            )),
            who,
        )
        .await;
        assert_eq!(head.status, StatusCode::NOT_FOUND);
    }

    // Searches: every filter that could single out a hidden Item finds only visible ones,
    // and counts cover only them.
    let visible_items: Vec<&Value> = everything
        .iter()
        .filter(|i| visible.contains(i["collection"].as_str().unwrap()))
        .collect();
    let hidden_ids: Vec<String> = everything
        .iter()
        .filter(|i| !visible.contains(i["collection"].as_str().unwrap()))
        .take(20)
        .map(|i| i["id"].as_str().unwrap().to_owned())
        .collect();
    let hidden_collections = hidden.collections.join(",");
    let searches = [
        "limit=10000".to_owned(),
        format!("ids={}", hidden_ids.join(",")),
        format!("collections={hidden_collections}"),
        format!("collections={hidden_collections},generic"),
        "bbox=2,48,3,49".to_owned(),
        "bbox=-180,-90,180,90&limit=10000".to_owned(),
        "datetime=2023-06-01T00:00:00Z/2023-06-02T00:00:00Z".to_owned(),
        "filter=platform%3D%27sentinel-2a%27".to_owned(),
        "filter=platform%20IS%20NOT%20NULL".to_owned(),
        "filter=S_INTERSECTS(geometry,POLYGON((2%2048,3%2048,3%2049,2%2049,2%2048)))".to_owned(),
        "q=scene,pastis,sentinel".to_owned(),
        "sortby=-datetime&limit=3".to_owned(),
        "fields=id,collection&limit=10000".to_owned(),
        "fields=properties.platform&limit=10000".to_owned(),
        "sortby=platform&limit=10000".to_owned(),
        "query=%7B%22platform%22%3A%7B%22eq%22%3A%22sentinel-2a%22%7D%7D".to_owned(),
    ];
    for query in &searches {
        let answer = fetch(format!("{base}/search?{query}")).await;
        if answer.status == StatusCode::BAD_REQUEST {
            // A filter naming a property only hidden Items have is an unknown property
            // here, exactly like one nobody has.
            let twin = fetch(format!(
                "{base}/search?{}",
                query.replace("platform", "no_such_property")
            ))
            .await;
            assert_eq!(twin.status, StatusCode::BAD_REQUEST, "{query}");
            continue;
        }
        assert_eq!(answer.status, StatusCode::OK, "{query}: {}", answer.text);
        let page = answer.json();
        for feature in page["features"].as_array().unwrap() {
            let collection = feature["collection"].as_str().unwrap();
            assert!(visible.contains(collection), "{query} found {collection}");
        }
        if query == "limit=10000" {
            assert_eq!(page["numberMatched"], visible_items.len());
        }
        assert!(page["numberMatched"].as_u64().unwrap() <= visible_items.len() as u64);
    }
    for body in [
        json!({"ids": hidden_ids}),
        json!({"collections": hidden.collections}),
        json!({"intersects": {"type": "Polygon",
            "coordinates": [[[2, 48], [3, 48], [3, 49], [2, 49], [2, 48]]]}}),
        json!({"filter-lang": "cql2-json",
            "filter": {"op": "=", "args": [{"property": "platform"}, "sentinel-2a"]}}),
        json!({"limit": 1}),
    ] {
        let answer = post(client, &format!("{base}/search"), &body, who).await;
        bodies
            .borrow_mut()
            .push((format!("POST {body}"), answer.text.clone()));
        if answer.status == StatusCode::OK {
            for feature in answer.json()["features"].as_array().unwrap() {
                assert!(visible.contains(feature["collection"].as_str().unwrap()));
            }
        } else {
            assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{body}");
        }
    }
    // Paging one Item at a time visits exactly the visible Items.
    let mut url = format!("{base}/search?limit=1");
    let mut seen = 0;
    loop {
        let page = fetch(url.clone()).await.json();
        seen += page["features"].as_array().unwrap().len();
        match page["links"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["rel"] == "next")
        {
            Some(next) => url = next["href"].as_str().unwrap().to_owned(),
            None => break,
        }
        assert!(seen <= visible_items.len());
    }
    assert_eq!(seen, visible_items.len());

    // Queryables, status and metrics.
    let queryables = fetch(format!("{base}/queryables")).await;
    assert_eq!(queryables.status, StatusCode::OK);
    let status = fetch(format!("{base}/status")).await.json();
    assert_eq!(status["snapshot"]["collections"], visible.len());
    assert_eq!(status["snapshot"]["items"], visible_items.len());
    assert!(status.get("sources").is_none(), "{status}");
    let metrics = fetch(format!("{base}/metrics")).await;
    assert_eq!(metrics.status, StatusCode::NOT_FOUND);

    for (url, body) in bodies.borrow().iter() {
        hidden.check(url, body);
        for secret in [ALICE_KEY, JWT_SECRET, SIGNING_SECRET, OLD_SIGNING_SECRET] {
            assert!(!body.contains(secret), "{url} answers a secret");
        }
    }
    // Properties only hidden Items have are not offered as queryables.
    assert!(
        !queryables.text.contains("\"platform\"") || visible.contains("stac-item"),
        "{}",
        queryables.text
    );
}

/// A `next` token minted for one principal, replayed by another, pages only through
/// what the other may read.
async fn tokens_of_another_principal(
    client: &Client,
    base: &str,
    alice: &Who,
    bob: &Who,
    everything: &[Value],
) {
    let first = get(
        client,
        &format!("{base}/search?limit=2&collections=pastis-2433"),
        alice,
    )
    .await
    .json();
    let next = first["links"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["rel"] == "next")
        .expect("alice pages through pastis-2433")["href"]
        .as_str()
        .unwrap()
        .to_owned();
    let replayed = get(client, &next, bob).await;
    assert_eq!(replayed.status, StatusCode::OK);
    assert_eq!(replayed.json()["features"].as_array().unwrap().len(), 0);
    let unrestricted = next.replace("collections=pastis-2433&", "");
    let replayed = get(client, &unrestricted, bob).await.json();
    for feature in replayed["features"].as_array().unwrap() {
        let collection = feature["collection"].as_str().unwrap();
        assert!(PUBLIC.contains(&collection) || collection == "stac-item");
    }
    assert!(everything.len() > 2);
}

/// Signed hrefs: GDAL reads a COG through one with no headers; a changed path, expiry,
/// key or signature is refused; an unsigned request is a 404.
async fn signed_hrefs(
    client: &Client,
    base: &str,
    alice: &Who,
    bob: &Who,
    pushed: &fixtures::Pushed,
) {
    let scene = get(
        client,
        &format!("{base}/collections/stac-item/items/scene-1"),
        bob,
    )
    .await
    .json();
    let href = scene["assets"]["visual"]["href"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        href.contains("?expires=") && href.contains("&key=k2&signature="),
        "{href}"
    );
    let (path, query) = href.split_once('?').unwrap();

    // GDAL, no headers at all.
    let info = gdal_tool("gdalinfo", &["-checksum", &format!("/vsicurl/{href}")]);
    assert!(info.contains("Checksum="), "{info}");
    let bytes = client.get(&href).send().await.unwrap();
    assert_eq!(bytes.status(), StatusCode::OK);
    assert_eq!(
        bytes.bytes().await.unwrap().as_ref(),
        pushed.layers[&("stac-item".to_owned(), "scene-1".to_owned())].as_slice()
    );
    let ranged = client
        .get(&href)
        .header("range", "bytes=0-15")
        .send()
        .await
        .unwrap();
    assert_eq!(ranged.status(), StatusCode::PARTIAL_CONTENT);

    // Unsigned and anonymous: the asset does not exist.
    let unsigned = client.get(path).send().await.unwrap();
    assert_eq!(unsigned.status(), StatusCode::NOT_FOUND);

    // The same signature on another asset (another principal's hidden collection).
    let everything = all_items(client, base, alice).await;
    let pastis = everything
        .iter()
        .find(|i| i["collection"] == "pastis-2433")
        .unwrap();
    let other = asset_href(pastis, |h| h.contains("/assets/"));
    let other_path = other.split('?').next().unwrap();
    let moved = client
        .get(format!("{other_path}?{query}"))
        .send()
        .await
        .unwrap();
    assert_eq!(moved.status(), StatusCode::FORBIDDEN);
    let expires: u64 = query
        .split('&')
        .find_map(|p| p.strip_prefix("expires="))
        .unwrap()
        .parse()
        .unwrap();
    let tampered = [
        query.replace(
            &format!("expires={expires}"),
            &format!("expires={}", expires + 3600),
        ),
        query.replace("key=k2", "key=k1"),
        query.replace("key=k2", "key=k3"),
        // The last character changed: a base64url signature of 32 bytes ends in one of
        // 16 characters, `A` among them.
        format!(
            "{}{}",
            &query[..query.len() - 1],
            if query.ends_with('A') { 'E' } else { 'A' }
        ),
        format!("{query}&url=http://127.0.0.1:1/v2/stac-item/blobs/sha256:00"),
    ];
    for (n, tampered) in tampered.iter().enumerate() {
        let answer = client
            .get(format!("{path}?{tampered}"))
            .send()
            .await
            .unwrap();
        let expected = if n == 4 {
            StatusCode::OK // parameters beyond the signature's are ignored
        } else {
            StatusCode::FORBIDDEN
        };
        assert_eq!(answer.status(), expected, "{tampered}");
    }
    // A signature with a past expiry: refused, even though it once was valid.
    let past = format!(
        "{}?expires=1&key=k2&signature={}",
        path,
        query.split("signature=").nth(1).unwrap()
    );
    let answer = client.get(&past).send().await.unwrap();
    assert_eq!(answer.status(), StatusCode::FORBIDDEN);
    let body: Value = answer.json().await.unwrap();
    assert_eq!(body["code"], "Forbidden");

    // Paths that try to step out of the route reach nothing.
    for trick in [
        format!("{base}/collections/generic/items/x/assets/..%2F..%2Fstac-item/visual.tif"),
        format!(
            "{base}/collections/stac-item%2Fitems%2Fscene-1/items/scene-1/assets/visual/visual.tif"
        ),
        format!("{base}/collections/generic/items/scene-1/assets/visual/visual.tif"),
        format!(
            "{base}/collections/stac-item/items/scene-1/assets/visual/{}",
            crate::support::registry::digest(
                &pushed.layers[&("stac-item".to_owned(), "scene-1".to_owned())]
            )
        ),
        format!("{base}/v2/stac-item/blobs/sha256:00"),
        format!(
            "{base}/collections/stac-item/items/scene-1/assets/visual/visual.tif?url=http%3A%2F%2F127.0.0.1"
        ),
    ] {
        let answer = client.get(&trick).send().await.unwrap();
        assert_eq!(answer.status(), StatusCode::NOT_FOUND, "{trick}");
    }
}

/// Credentials that are presented but not accepted are a 401, not anonymous access.
async fn refused_credentials(client: &Client, base: &str) {
    let exp = chrono::Utc::now().timestamp() - 3600;
    let expired = jwt(json!({"iss": ISSUER, "aud": "stac-oci", "sub": "bob", "exp": exp}));
    for who in [
        Who::Key("not-a-key"),
        Who::Bearer(expired),
        Who::Basic("someone", "registry-password"),
    ] {
        let answer = get(client, &format!("{base}/collections"), &who).await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{}", answer.text);
        assert_eq!(answer.json()["code"], "Unauthorized");
        assert!(answer.headers.contains_key("www-authenticate"));
    }
}

/// Registry pass-through on an htpasswd registry: the client's own Basic credentials
/// see what the registry lets them pull; wrong ones see only the public collections;
/// the verdict is cached (one registry check per repository, not per request).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registry_credentials_pass_through_to_htpasswd() {
    let registry = TestRegistry::start_with_htpasswd("crawler", "crawler-password").await;
    fixtures::push_all(&registry).await;
    let config = format!(
        r#"
[access]
enabled = true
public_collections = ["generic"]
pass_through_ttl = "5m"

[[access.policies]]
collections = ["*"]
pass_through = true

[[sources]]
name = "misc"
registry = "{}"
repositories = ["stac-item", "generic", "two-tags"]
username = "crawler"
password = "crawler-password"
"#,
        registry.url
    );
    let gateway = Gateway::start_with_log(&config, "debug").await;
    let client = Client::new();
    let base = gateway.url.clone();
    let collections = |answer: Answer| collection_ids(&answer);
    let url = format!("{base}/collections");
    let right = Who::Basic("crawler", "crawler-password");
    let wrong = Who::Basic("crawler", "not-the-password");
    let all: BTreeSet<String> = ["generic", "stac-item", "two-tags"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(collections(get(&client, &url, &right).await), all);
    let checks = registry.log().matches("tags/list?n=1").count();
    assert!(checks >= 2, "the registry was asked: {checks}");
    assert_eq!(collections(get(&client, &url, &right).await), all);
    let item = get(
        &client,
        &format!("{base}/collections/stac-item/items/scene-1"),
        &right,
    )
    .await;
    assert_eq!(item.status, StatusCode::OK);
    assert_eq!(
        registry.log().matches("tags/list?n=1").count(),
        checks,
        "verdicts are cached"
    );
    assert_eq!(
        collections(get(&client, &url, &wrong).await),
        BTreeSet::from(["generic".to_owned()])
    );
    let hidden = get(
        &client,
        &format!("{base}/collections/stac-item/items/scene-1"),
        &wrong,
    )
    .await;
    assert_eq!(hidden.status, StatusCode::NOT_FOUND);
    let log = gateway.log();
    let basic = base64::engine::general_purpose::STANDARD.encode("crawler:crawler-password");
    for secret in ["crawler-password", "not-the-password", basic.as_str()] {
        assert!(!log.contains(secret), "the log contains {secret}");
    }
}

/// A private key made by the `openssl` command: RSA as PKCS#1 DER, P-256 as PKCS#8 DER
/// (what `jsonwebtoken`'s DER constructors read).
fn openssl_key(dir: &std::path::Path, kind: &str) -> Vec<u8> {
    let pem = dir.join(format!("{kind}.pem"));
    let der = dir.join(format!("{kind}.der"));
    let run = |args: &[&str]| {
        let out = std::process::Command::new("openssl")
            .args(args)
            .output()
            .expect("openssl");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let (pem, der) = (pem.to_str().unwrap(), der.to_str().unwrap());
    match kind {
        "rsa" => {
            run(&["genrsa", "-out", pem, "2048"]);
            run(&[
                "rsa",
                "-in",
                pem,
                "-traditional",
                "-outform",
                "DER",
                "-out",
                der,
            ]);
        }
        _ => {
            run(&[
                "genpkey",
                "-algorithm",
                "EC",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-out",
                pem,
            ]);
            run(&[
                "pkcs8", "-topk8", "-nocrypt", "-in", pem, "-outform", "DER", "-out", der,
            ]);
        }
    }
    std::fs::read(der).unwrap()
}

/// JWTs signed with RS256 and ES256 keys that the issuer publishes as a JWKS (served
/// here over HTTP): claims decide the grants; a key the issuer did not publish, or a
/// token for another audience, is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jwt_keys_come_from_the_issuers_jwks() {
    use jsonwebtoken::jwk::{Jwk, JwkSet};
    use jsonwebtoken::{Algorithm, EncodingKey, Header};

    let dir = tempfile::tempdir().unwrap();
    let rsa = EncodingKey::from_rsa_der(&openssl_key(dir.path(), "rsa"));
    let ec = EncodingKey::from_ec_der(&openssl_key(dir.path(), "ec"));
    let stranger = EncodingKey::from_rsa_der(&openssl_key(dir.path(), "rsa"));
    let mut keys = Vec::new();
    for (kid, key, alg) in [
        ("rsa-1", &rsa, Algorithm::RS256),
        ("ec-1", &ec, Algorithm::ES256),
    ] {
        let mut jwk = Jwk::from_encoding_key(key, alg).unwrap();
        jwk.common.key_id = Some(kid.into());
        keys.push(jwk);
    }
    let jwks = serde_json::to_string(&JwkSet { keys }).unwrap();
    let app = axum::Router::new().route(
        "/jwks.json",
        axum::routing::get(move || {
            let jwks = jwks.clone();
            async move { jwks }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let jwks_url = format!("http://{}/jwks.json", listener.local_addr().unwrap());
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });

    let registry = TestRegistry::start().await;
    fixtures::push_all(&registry).await;
    let config = format!(
        r#"
[access]
enabled = true

[access.jwt]
issuer = "{ISSUER}"
audience = "stac-oci"
jwks_url = "{jwks_url}"

[[access.policies]]
collections = ["stac-item"]
subjects = ["carol"]

[[access.policies]]
collections = ["*"]
scopes = ["stac:read-all"]

{}"#,
        fixtures::gateway_config(&registry.url)
    );
    let gateway = Gateway::start(&config).await;
    let client = Client::new();
    let url = format!("{}/collections", gateway.url);
    let exp = chrono::Utc::now().timestamp() + 600;
    let token = |alg: Algorithm, kid: &str, key: &EncodingKey, claims: Value| {
        let mut header = Header::new(alg);
        header.kid = Some(kid.into());
        Who::Bearer(jsonwebtoken::encode(&header, &claims, key).unwrap())
    };
    let ids = |answer: Answer| -> Vec<String> { collection_ids(&answer).into_iter().collect() };

    let carol = token(
        Algorithm::RS256,
        "rsa-1",
        &rsa,
        json!({"iss": ISSUER, "aud": "stac-oci", "sub": "carol", "exp": exp}),
    );
    assert_eq!(ids(get(&client, &url, &carol).await), vec!["stac-item"]);
    let reader = token(
        Algorithm::ES256,
        "ec-1",
        &ec,
        json!({"iss": ISSUER, "aud": ["stac-oci"], "sub": "svc", "scope": "openid stac:read-all", "exp": exp}),
    );
    assert!(ids(get(&client, &url, &reader).await).len() > 3);
    assert!(ids(get(&client, &url, &Who::Anonymous).await).is_empty());
    for refused in [
        token(
            Algorithm::RS256,
            "rsa-1",
            &stranger,
            json!({"iss": ISSUER, "aud": "stac-oci", "sub": "carol", "exp": exp}),
        ),
        token(
            Algorithm::RS256,
            "rsa-9",
            &stranger,
            json!({"iss": ISSUER, "aud": "stac-oci", "sub": "carol", "exp": exp}),
        ),
        token(
            Algorithm::ES256,
            "ec-1",
            &ec,
            json!({"iss": ISSUER, "aud": "another-api", "sub": "carol", "exp": exp}),
        ),
    ] {
        let answer = get(&client, &url, &refused).await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{}", answer.text);
    }
    server.abort();
}

/// What the stand-in object store saw.
#[derive(Default)]
struct StorageLog {
    /// Requests to the store, and how many carried `Authorization`.
    requests: std::sync::atomic::AtomicUsize,
    with_authorization: std::sync::atomic::AtomicUsize,
    /// Blob GETs that reached the registry front.
    blob_gets: std::sync::atomic::AtomicUsize,
}

/// A front for an htpasswd registry that behaves like a registry on object storage:
/// blob GETs are answered with a `307` to a presigned-looking URL of a second server
/// (the "object store"), which serves the bytes without any credentials.
async fn storage_front(registry: &str, user: &str, password: &str) -> (String, Arc<StorageLog>) {
    use axum::extract::{Request, State};
    use axum::response::{IntoResponse, Response};
    use std::sync::atomic::Ordering::SeqCst;

    struct Front {
        registry: String,
        storage: String,
        user: String,
        password: String,
        log: Arc<StorageLog>,
        client: Client,
    }
    async fn forward(front: &Front, request: Request, path: &str, basic: bool) -> Response {
        let (parts, body) = request.into_parts();
        let body = axum::body::to_bytes(body, usize::MAX).await.unwrap();
        let mut upstream = front
            .client
            .request(parts.method, format!("{}{path}", front.registry))
            .body(body);
        for (name, value) in &parts.headers {
            if name != "host" {
                upstream = upstream.header(name, value);
            }
        }
        if basic {
            upstream = upstream.basic_auth(&front.user, Some(&front.password));
        }
        let answer = upstream.send().await.unwrap();
        let mut response = Response::builder().status(answer.status().as_u16());
        for (name, value) in answer.headers() {
            response = response.header(name, value);
        }
        response
            .body(axum::body::Body::from(answer.bytes().await.unwrap()))
            .unwrap()
    }
    async fn registry_side(State(front): State<Arc<Front>>, request: Request) -> Response {
        let path = request.uri().path_and_query().unwrap().as_str().to_owned();
        if request.method() == "GET" && path.contains("/blobs/sha256:") {
            front.log.blob_gets.fetch_add(1, SeqCst);
            let location = format!(
                "{}/objects{path}?X-Amz-Signature=0123abcd&X-Amz-Expires=300",
                front.storage
            );
            return (
                axum::http::StatusCode::TEMPORARY_REDIRECT,
                [("location", location)],
            )
                .into_response();
        }
        forward(&front, request, &path, false).await
    }
    async fn storage_side(State(front): State<Arc<Front>>, request: Request) -> Response {
        front.log.requests.fetch_add(1, SeqCst);
        if request.headers().contains_key("authorization") {
            front.log.with_authorization.fetch_add(1, SeqCst);
        }
        let path = request
            .uri()
            .path()
            .trim_start_matches("/objects")
            .to_owned();
        forward(&front, request, &path, true).await
    }

    let registry_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let storage_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let front = Arc::new(Front {
        registry: registry.to_owned(),
        storage: format!("http://{}", storage_listener.local_addr().unwrap()),
        user: user.to_owned(),
        password: password.to_owned(),
        log: Arc::default(),
        client: Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
    });
    let url = format!("http://{}", registry_listener.local_addr().unwrap());
    let log = Arc::clone(&front.log);
    let registry_app = axum::Router::new()
        .fallback(registry_side)
        .with_state(Arc::clone(&front));
    let storage_app = axum::Router::new().fallback(storage_side).with_state(front);
    tokio::spawn(async move { axum::serve(registry_listener, registry_app).await });
    tokio::spawn(async move { axum::serve(storage_listener, storage_app).await });
    (url, log)
}

/// Redirect mode: a whole-blob asset answers the registry's own storage redirect (the
/// gateway itself never contacts the store, so its credentials cannot go there); HEAD
/// is answered by the gateway; files inside tar layers are proxied, following the
/// storage redirect without the gateway's credentials.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirect_mode_hands_out_only_the_storage_redirect() {
    use std::sync::atomic::Ordering::SeqCst;

    let registry = TestRegistry::start_with_htpasswd("crawler", "crawler-password").await;
    let pushed = fixtures::push_all(&registry).await;
    let (front, log) = storage_front(&registry.url, "crawler", "crawler-password").await;
    let config = format!(
        r#"
[[sources]]
name = "misc"
registry = "{front}"
repositories = ["stac-item", "pastis-t4"]
username = "crawler"
password = "crawler-password"
assets = "redirect"
crs = "EPSG:2154"
"#
    );
    let gateway = Gateway::start(&config).await;
    let client = Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let base = &gateway.url;
    let href = format!("{base}/collections/stac-item/items/scene-1/assets/visual/visual.tif");
    let crawled_requests = log.requests.load(SeqCst);
    assert_eq!(log.with_authorization.load(SeqCst), 0);

    let answer = client.get(&href).send().await.unwrap();
    assert_eq!(answer.status(), StatusCode::TEMPORARY_REDIRECT);
    let location = answer.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        location.contains("/objects/v2/stac-item/blobs/sha256:"),
        "{location}"
    );
    assert!(!location.contains("crawler"), "{location}");
    assert_eq!(answer.headers()["cache-control"], "private, no-store");
    assert_eq!(
        log.requests.load(SeqCst),
        crawled_requests,
        "the gateway never went there"
    );
    let bytes = Client::new().get(&href).send().await.unwrap();
    assert_eq!(bytes.status(), StatusCode::OK);
    assert_eq!(
        bytes.bytes().await.unwrap().as_ref(),
        pushed.layers[&("stac-item".to_owned(), "scene-1".to_owned())].as_slice()
    );

    let blob_gets = log.blob_gets.load(SeqCst);
    let head = client.head(&href).send().await.unwrap();
    assert_eq!(head.status(), StatusCode::OK);
    let length = pushed.layers[&("stac-item".to_owned(), "scene-1".to_owned())].len();
    assert_eq!(
        head.headers()["content-length"],
        length.to_string().as_str()
    );
    assert_eq!(
        log.blob_gets.load(SeqCst),
        blob_gets,
        "HEAD is answered by the gateway"
    );

    // A file inside a tar layer is a range of the layer: proxied, and the proxy follows
    // the storage redirect without the gateway's credentials.
    let sample =
        crate::support::client::get_json(&format!("{base}/search?collections=pastis-t4&limit=1"))
            .await;
    let member = asset_href(&sample["features"][0], |h| h.ends_with(".npy"));
    let answer = client.get(&member).send().await.unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    assert!(!answer.bytes().await.unwrap().is_empty());
    assert!(log.requests.load(SeqCst) > crawled_requests);
    assert_eq!(
        log.with_authorization.load(SeqCst),
        0,
        "no credentials reach the store"
    );
}

/// Registry pass-through on a registry with token authentication (a real Distribution
/// trusting a test token issuer): each user sees exactly the repositories the registry
/// lets it pull, with Basic credentials (through the registry's token realm) or with a
/// registry token of its own; verdicts are cached; nothing of it reaches the log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registry_credentials_pass_through_to_token_auth() {
    use crate::support::token_auth::{Grant, TokenIssuer, fetch_token};

    let issuer = TokenIssuer::start(&[
        ("alice", "alice-registry-pass", Grant::pull(&["private/a"])),
        ("bob", "bob-registry-pass", Grant::none()),
    ])
    .await;
    let registry = TestRegistry::start_with_token_auth(&issuer, ("admin", "admin-pass")).await;
    for (repo, id) in [("private/a", "a"), ("private/b", "b")] {
        let layer = fixtures::synthetic_tar(id);
        registry
            .push_artifact(
                repo,
                "v1",
                Some("application/vnd.example.data.v1"),
                ("application/vnd.oci.empty.v1+json", b"{}"),
                &[(fixtures::TAR, &layer, Some("data.tar"))],
            )
            .await;
    }
    let config = format!(
        r#"
[access]
enabled = true

[[access.policies]]
collections = ["*"]
pass_through = true

{}"#,
        crate::support::client::registry_source(
            &registry.url,
            &["private/a", "private/b"],
            "username = \"admin\"\npassword = \"admin-pass\"\n"
        )
    );
    let gateway = Gateway::start_with_log(&config, "debug").await;
    let client = Client::new();
    let url = format!("{}/collections", gateway.url);
    let ids = |answer: Answer| -> Vec<String> { collection_ids(&answer).into_iter().collect() };
    let alice = Who::Basic("alice", "alice-registry-pass");
    assert_eq!(ids(get(&client, &url, &alice).await), vec!["private-a"]);
    let tokens = issuer.issued("alice");
    assert!(tokens >= 2, "the registry's realm was asked: {tokens}");
    assert_eq!(ids(get(&client, &url, &alice).await), vec!["private-a"]);
    assert_eq!(issuer.issued("alice"), tokens, "verdicts are cached");
    let search = get(&client, &format!("{}/search", gateway.url), &alice).await;
    assert_eq!(search.json()["numberMatched"], 1);
    let hidden = get(
        &client,
        &format!("{}/collections/private-b/items", gateway.url),
        &alice,
    )
    .await;
    assert_eq!(hidden.status, StatusCode::NOT_FOUND);

    assert!(ids(get(&client, &url, &Who::Basic("bob", "bob-registry-pass")).await).is_empty());
    assert!(ids(get(&client, &url, &Who::Basic("alice", "wrong")).await).is_empty());
    assert!(ids(get(&client, &url, &Who::Anonymous).await).is_empty());

    // A registry token of alice's own, passed as a bearer token.
    let http = reqwest::Client::new();
    let scopes = ["repository:private/a:pull", "repository:private/b:pull"];
    let token = fetch_token(
        &http,
        &issuer.realm(),
        TokenIssuer::SERVICE,
        &scopes,
        Some(("alice", "alice-registry-pass")),
    )
    .await
    .unwrap();
    let bearer = Who::Bearer(token.clone());
    assert_eq!(ids(get(&client, &url, &bearer).await), vec!["private-a"]);
    let item = get(
        &client,
        &format!("{}/collections/private-a/items?limit=1", gateway.url),
        &bearer,
    )
    .await
    .json();
    let href = asset_href(&item["features"][0], |h| h.contains("signature="));
    let bytes = client.get(&href).send().await.unwrap();
    assert_eq!(bytes.status(), StatusCode::OK);

    let log = gateway.log();
    let basic = base64::engine::general_purpose::STANDARD.encode("alice:alice-registry-pass");
    for secret in [
        "alice-registry-pass",
        "bob-registry-pass",
        "admin-pass",
        basic.as_str(),
        &token[token.len() - 30..],
    ] {
        assert!(!log.contains(secret), "the log contains {secret}");
    }
}

/// pystac-client, unmodified, with and without an API key header: it lists and pages
/// through exactly what the key (or anonymity) may read.
fn pystac_client_sees_what_it_may(base: &str, public: &BTreeSet<String>, everything: &[Value]) {
    let run = |headers: Option<Value>| -> Value {
        let mut command = std::process::Command::new(crate::support::client::python());
        command
            .arg(crate::support::client::client_script("pystac_search.py"))
            .arg(base)
            .arg("-180,-90,180,90");
        if let Some(headers) = headers {
            command.arg(headers.to_string());
        }
        let output = command.output().unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice(&output.stdout).unwrap()
    };
    let anonymous = run(None);
    let collections: BTreeSet<String> = anonymous["collections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(&collections, public);
    for id in anonymous["ids"].as_array().unwrap() {
        let collection = id.as_str().unwrap().split('/').next().unwrap();
        assert!(public.contains(collection), "{id}");
    }
    let alice = run(Some(json!({"X-API-Key": ALICE_KEY})));
    let with_geometry = everything.iter().filter(|i| !i["bbox"].is_null()).count();
    assert_eq!(alice["matched"].as_u64(), Some(with_geometry as u64));
    assert_eq!(alice["ids"].as_array().unwrap().len(), with_geometry);
}
