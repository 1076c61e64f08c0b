//! Registry events: the webhook payloads of CNCF Distribution, Harbor, Zot
//! (CloudEvents), Quay, GHCR (GitHub package events) and Docker Hub, reduced to the
//! repositories to recrawl, and the shared-secret check that guards them.

use std::collections::BTreeSet;
use std::str::FromStr;

use hmac::{KeyInit, Mac};
use serde_json::Value;
use subtle::ConstantTimeEq;

pub mod route;

/// Who sent a webhook: decides how its payload is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookKind {
    /// CNCF Distribution notifications (`{"events": [...]}`).
    Distribution,
    /// Harbor webhooks (`event_data.repository.repo_full_name`).
    Harbor,
    /// Zot's events extension, CloudEvents in binary or structured mode.
    Zot,
    /// Quay repository notifications (`repository`).
    Quay,
    /// GitHub `package` / `registry_package` events for ghcr.io.
    Ghcr,
    /// Docker Hub webhooks (`repository.repo_name`).
    DockerHub,
}

impl FromStr for WebhookKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "distribution" => WebhookKind::Distribution,
            "harbor" => WebhookKind::Harbor,
            "zot" => WebhookKind::Zot,
            "quay" => WebhookKind::Quay,
            "ghcr" => WebhookKind::Ghcr,
            "dockerhub" => WebhookKind::DockerHub,
            other => {
                return Err(format!(
                    "unknown webhook kind {other:?}: expected distribution, harbor, zot, quay, ghcr or dockerhub"
                ));
            }
        })
    }
}

/// Media types of manifests and indexes: the events about them change what is served.
const MANIFEST_TYPES: &[&str] = &[
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
];

/// The repositories a payload says changed. Events that change nothing served (pulls,
/// blob uploads, scans) name none; a payload of the wrong shape is an error.
pub fn changed_repositories(kind: WebhookKind, body: &[u8]) -> Result<BTreeSet<String>, String> {
    let payload: Value =
        serde_json::from_slice(body).map_err(|e| format!("payload is not JSON: {e}"))?;
    let text = |v: &Value, pointer: &str| {
        v.pointer(pointer)
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let mut repositories = BTreeSet::new();
    match kind {
        WebhookKind::Distribution => {
            let events = payload
                .get("events")
                .and_then(Value::as_array)
                .ok_or("expected {\"events\": [...]}")?;
            for event in events {
                let action = text(event, "/action").unwrap_or_default();
                let media_type = text(event, "/target/mediaType").unwrap_or_default();
                let is_manifest = MANIFEST_TYPES.contains(&media_type.as_str())
                    || text(event, "/target/url").is_some_and(|u| u.contains("/manifests/"));
                if matches!(action.as_str(), "push" | "delete")
                    && (is_manifest || action == "delete")
                    && let Some(repository) = text(event, "/target/repository")
                {
                    repositories.insert(repository);
                }
            }
        }
        WebhookKind::Harbor => {
            let kind = text(&payload, "/type").unwrap_or_default();
            if matches!(
                kind.as_str(),
                "PUSH_ARTIFACT" | "DELETE_ARTIFACT" | "REPLICATION"
            ) {
                let repository = text(&payload, "/event_data/repository/repo_full_name")
                    .ok_or("expected event_data.repository.repo_full_name")?;
                repositories.insert(repository);
            }
        }
        WebhookKind::Zot => {
            // Structured mode wraps the event data in `data`; binary mode sends it as is.
            let data = payload
                .get("data")
                .filter(|d| d.is_object())
                .unwrap_or(&payload);
            let kind = text(&payload, "/type").unwrap_or_default();
            if kind.ends_with("lint_failed") {
                return Ok(repositories);
            }
            repositories.insert(text(data, "/name").ok_or("expected the event's name")?);
        }
        WebhookKind::Quay => {
            repositories.insert(text(&payload, "/repository").ok_or("expected repository")?);
        }
        WebhookKind::Ghcr => {
            let package = payload
                .get("package")
                .or_else(|| payload.get("registry_package"))
                .ok_or("expected a package or registry_package event")?;
            let package_type = text(package, "/package_type").unwrap_or_default();
            if package_type.eq_ignore_ascii_case("container") {
                let name = text(package, "/name").ok_or("expected package.name")?;
                let owner = text(package, "/namespace")
                    .or_else(|| text(package, "/owner/login"))
                    .ok_or("expected package.owner.login")?;
                repositories.insert(format!("{owner}/{name}").to_ascii_lowercase());
            }
        }
        WebhookKind::DockerHub => {
            repositories.insert(
                text(&payload, "/repository/repo_name").ok_or("expected repository.repo_name")?,
            );
        }
    }
    Ok(repositories)
}

/// Whether a webhook request proves it knows `secret`: `Authorization: Bearer <secret>`,
/// or a GitHub-style `X-Hub-Signature-256: sha256=<HMAC-SHA256 of the body>`.
/// Comparisons take constant time.
pub fn authorized(
    secret: &str,
    authorization: Option<&str>,
    signature: Option<&str>,
    body: &[u8],
) -> bool {
    if let Some(token) = authorization.and_then(|a| a.strip_prefix("Bearer ")) {
        return bool::from(token.trim().as_bytes().ct_eq(secret.as_bytes()));
    }
    if let Some(hex_mac) = signature.and_then(|s| s.strip_prefix("sha256="))
        && let Ok(expected) = hex::decode(hex_mac.trim())
        && let Ok(mut mac) = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes())
    {
        mac.update(body);
        return mac.verify_slice(&expected).is_ok();
    }
    false
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn repos(kind: WebhookKind, payload: Value) -> Vec<String> {
        changed_repositories(kind, payload.to_string().as_bytes())
            .unwrap()
            .into_iter()
            .collect()
    }

    #[test]
    fn distribution_pushes_and_deletes_of_manifests() {
        let payload = json!({"events": [
            {"action": "push", "target": {"mediaType": "application/vnd.oci.image.manifest.v1+json", "repository": "eo/pastis", "tag": "v1"}},
            {"action": "pull", "target": {"mediaType": "application/vnd.oci.image.manifest.v1+json", "repository": "pulled"}},
            {"action": "push", "target": {"mediaType": "application/octet-stream", "repository": "blob-only"}},
            {"action": "delete", "target": {"repository": "gone", "digest": "sha256:ab"}}
        ]});
        assert_eq!(
            repos(WebhookKind::Distribution, payload),
            ["eo/pastis", "gone"]
        );
        assert!(changed_repositories(WebhookKind::Distribution, b"{}").is_err());
        assert!(changed_repositories(WebhookKind::Distribution, b"not json").is_err());
    }

    #[test]
    fn other_registries() {
        let harbor = json!({"type": "PUSH_ARTIFACT", "event_data": {"repository": {"repo_full_name": "library/pastis"}}});
        assert_eq!(repos(WebhookKind::Harbor, harbor), ["library/pastis"]);
        let harbor_scan = json!({"type": "SCANNING_COMPLETED", "event_data": {}});
        assert!(repos(WebhookKind::Harbor, harbor_scan).is_empty());
        let zot_structured = json!({"specversion": "1.0", "type": "zotregistry.image.updated", "data": {"name": "golang", "reference": "latest"}});
        assert_eq!(repos(WebhookKind::Zot, zot_structured), ["golang"]);
        let zot_binary = json!({"name": "eo/s2", "reference": "v2", "digest": "sha256:00"});
        assert_eq!(repos(WebhookKind::Zot, zot_binary), ["eo/s2"]);
        let quay = json!({"repository": "org/pastis", "updated_tags": ["v1"]});
        assert_eq!(repos(WebhookKind::Quay, quay), ["org/pastis"]);
        let ghcr = json!({"action": "published", "package": {"name": "PASTIS", "package_type": "CONTAINER", "owner": {"login": "EO-Lab"}}});
        assert_eq!(repos(WebhookKind::Ghcr, ghcr), ["eo-lab/pastis"]);
        let npm = json!({"action": "published", "package": {"name": "x", "package_type": "npm", "owner": {"login": "o"}}});
        assert!(repos(WebhookKind::Ghcr, npm).is_empty());
        let hub =
            json!({"push_data": {"tag": "latest"}, "repository": {"repo_name": "user/pastis"}});
        assert_eq!(repos(WebhookKind::DockerHub, hub), ["user/pastis"]);
        assert!("gitlab".parse::<WebhookKind>().is_err());
    }

    #[test]
    fn secrets() {
        let body = br#"{"events": []}"#;
        assert!(authorized("s3cret", Some("Bearer s3cret"), None, body));
        assert!(!authorized("s3cret", Some("Bearer s3cre"), None, body));
        assert!(!authorized("s3cret", Some("Basic s3cret"), None, body));
        assert!(!authorized("s3cret", None, None, body));
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(b"s3cret").unwrap();
        mac.update(body);
        let signature = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
        assert!(authorized("s3cret", None, Some(&signature), body));
        assert!(!authorized("s3cret", None, Some(&signature), b"{}"));
        assert!(!authorized("other", None, Some(&signature), body));
    }
}
