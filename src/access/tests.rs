use std::collections::BTreeMap;
use std::time::Duration;

use axum::http::{HeaderMap, HeaderValue};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{EncodingKey, Header};
use serde_json::json;

use super::*;
use crate::config::{ApiKey, JwtSettings};
use crate::mapping::{BlobRef, MappedCollection, MappedItem};

const HS_SECRET: &str = "a-test-secret-of-at-least-32-chars";
const ISSUER: &str = "https://id.example.org";

fn globs(patterns: &[&str]) -> globset::GlobSet {
    let mut builder = globset::GlobSetBuilder::new();
    for p in patterns {
        builder.add(globset::Glob::new(p).unwrap());
    }
    builder.build().unwrap()
}

fn policy(collections: &[&str]) -> Policy {
    Policy {
        collections: globs(collections),
        api_keys: Vec::new(),
        subjects: Vec::new(),
        groups: Vec::new(),
        scopes: Vec::new(),
        pass_through: false,
        operator: false,
    }
}

fn control() -> AccessControl {
    let key = |name: &str, key: &str| ApiKey {
        name: name.into(),
        sha256: Sha256::digest(key.as_bytes()).into(),
    };
    AccessControl::new(AccessSettings {
        public_collections: globs(&["open-*"]),
        api_keys: vec![key("alice", "alice-key"), key("ops", "ops-key")],
        jwt: Some(JwtSettings {
            issuer: ISSUER.into(),
            audience: Some("stac-oci".into()),
            hs256_secret: Some(HS_SECRET.into()),
            jwks_url: None,
            leeway: Duration::from_secs(5),
            groups_claims: vec!["groups".into()],
        }),
        policies: vec![
            Policy {
                api_keys: vec!["alice".into()],
                ..policy(&["private-*"])
            },
            Policy {
                api_keys: vec!["ops".into()],
                operator: true,
                ..policy(&[])
            },
            Policy {
                groups: vec!["team-c".into()],
                ..policy(&["private-c"])
            },
            Policy {
                pass_through: true,
                ..policy(&["registry-*"])
            },
        ],
        signing_keys: Vec::new(),
        signed_url_ttl: Duration::from_secs(60),
        pass_through_ttl: Duration::from_secs(60),
    })
}

fn snapshot() -> Snapshot {
    let collection = |id: &str| MappedCollection {
        id: id.into(),
        collection: json!({"id": id}).as_object().cloned().unwrap(),
    };
    let item = |collection: &str| MappedItem {
        collection: collection.into(),
        id: "one".into(),
        item: json!({"type": "Feature", "id": "one", "properties": {}})
            .as_object()
            .cloned()
            .unwrap(),
        shared_properties: Default::default(),
        footprint: None,
        assets: BTreeMap::from([(
            "data".to_string(),
            BlobRef {
                source: "src".into(),
                repository: format!("repo/{collection}").into(),
                digest: "sha256:00".into(),
                size: 1,
                media_type: "image/tiff".into(),
                file_name: "data.tif".into(),
                member: None,
            },
        )]),
        links: Vec::new(),
    };
    let ids = ["open-a", "private-b", "private-c", "registry-d", "other"];
    Snapshot::build(
        ids.iter().map(|id| collection(id)).collect(),
        ids.iter().map(|id| item(id)).collect(),
    )
}

fn headers(name: &str, value: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(
        axum::http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
        HeaderValue::from_str(value).unwrap(),
    );
    headers
}

fn token(claims: serde_json::Value) -> String {
    jsonwebtoken::encode(
        &Header::default(),
        &claims,
        &EncodingKey::from_secret(HS_SECRET.as_bytes()),
    )
    .unwrap()
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

async fn visible(control: &AccessControl, headers: &HeaderMap) -> (Vec<String>, bool) {
    let principal = control.authenticate(headers).await.unwrap();
    let grants = control
        .grants(&principal, &snapshot(), &BTreeMap::new())
        .await;
    (
        grants.collections.iter().cloned().collect(),
        grants.operator,
    )
}

#[tokio::test]
async fn each_principal_sees_what_policies_grant() {
    let control = control();
    assert_eq!(
        visible(&control, &HeaderMap::new()).await,
        (vec!["open-a".to_string()], false)
    );
    let alice = vec!["open-a", "private-b", "private-c"];
    assert_eq!(
        visible(&control, &headers("x-api-key", "alice-key")).await,
        (alice.iter().map(|s| s.to_string()).collect(), false)
    );
    assert_eq!(
        visible(&control, &headers("authorization", "Bearer alice-key"))
            .await
            .0,
        alice
    );
    assert_eq!(
        visible(&control, &headers("x-api-key", "ops-key")).await,
        (vec!["open-a".to_string()], true)
    );
    let team_c = token(json!({"iss": ISSUER, "aud": "stac-oci", "sub": "u1",
        "exp": now() + 60, "groups": ["team-c"]}));
    assert_eq!(
        visible(
            &control,
            &headers("authorization", &format!("Bearer {team_c}"))
        )
        .await
        .0,
        vec!["open-a", "private-c"]
    );
}

#[tokio::test]
async fn credentials_that_are_not_accepted_are_refused() {
    let control = control();
    let refused = |headers: HeaderMap| {
        let control = &control;
        async move { control.authenticate(&headers).await.err() }
    };
    assert!(matches!(
        refused(headers("x-api-key", "guess")).await,
        Some(AuthError::UnknownKey)
    ));
    let expired = token(json!({"iss": ISSUER, "aud": "stac-oci", "sub": "u1", "exp": now() - 600}));
    let wrong_audience =
        token(json!({"iss": ISSUER, "aud": "other", "sub": "u1", "exp": now() + 60}));
    let no_expiry = token(json!({"iss": ISSUER, "aud": "stac-oci", "sub": "u1"}));
    let mut forged = token(json!({"iss": ISSUER, "aud": "stac-oci", "exp": now() + 60}));
    forged.push('x');
    for bad in [expired, wrong_audience, no_expiry, forged] {
        assert!(
            matches!(
                refused(headers("authorization", &format!("Bearer {bad}"))).await,
                Some(AuthError::Token(_))
            ),
            "{bad}"
        );
    }
    let unsigned = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#),
        URL_SAFE_NO_PAD.encode(format!(r#"{{"iss":"{ISSUER}","exp":{}}}"#, now() + 60))
    );
    // Not a token of ours (no algorithm): at most registry credentials, which the
    // registry then judges.
    let principal = control
        .authenticate(&headers("authorization", &format!("Bearer {unsigned}")))
        .await;
    assert!(matches!(principal, Ok(Principal::Registry(_))));
    assert!(matches!(
        refused(headers("authorization", "Digest abc")).await,
        Some(AuthError::NotAccepted)
    ));
}

#[tokio::test]
async fn registry_credentials_pass_through_only_where_a_policy_says_so() {
    let control = control();
    let principal = control
        .authenticate(&headers("authorization", "Basic dXNlcjpwYXNz"))
        .await
        .unwrap();
    assert!(matches!(principal, Principal::Registry(_)));
    // The source is unknown here, so the registry cannot say yes: only public remains.
    let grants = control
        .grants(&principal, &snapshot(), &BTreeMap::new())
        .await;
    assert_eq!(
        grants.collections.iter().collect::<Vec<_>>(),
        vec!["open-a"]
    );
    assert!(!grants.operator);
}
