//! What a registry lets *clients* do: whether a client's own credentials may pull a
//! repository (access-control pass-through), and where the registry sends blob reads
//! (redirect mode). The gateway's own credentials never leave for another origin.

use reqwest::StatusCode;
use reqwest::header::{self, HeaderValue};
use serde::Deserialize;
use url::Url;

use super::RegistrySource;
use crate::source::SourceError;
use crate::source::http::{Sent, reqwest_error_without_url, unreachable};
use crate::source::metrics::RequestKind;

/// A token endpoint's answer (Docker token spec: `token`, or OAuth2's `access_token`).
#[derive(Deserialize)]
struct TokenAnswer {
    token: Option<String>,
    access_token: Option<String>,
}

impl RegistrySource {
    /// Whether the registry lets `authorization` (a client's Basic or Bearer value)
    /// list `repository`'s tags: directly, or, for Basic credentials on a registry with
    /// token authentication, through the token the registry's realm issues for
    /// `repository:<name>:pull`. Refusals (401, 403, 404) are `false`; a registry that
    /// cannot be asked is an error.
    pub async fn client_may_read(
        &self,
        repository: &str,
        authorization: &HeaderValue,
    ) -> Result<bool, SourceError> {
        super::check_name(repository)?;
        let url = self
            .http
            .base()
            .join(&format!("v2/{repository}/tags/list?n=1"))
            .map_err(|e| unreachable(repository, &e.to_string()))?;
        let response = self.probe(repository, &url, authorization).await?;
        match response.status() {
            StatusCode::OK => return Ok(true),
            StatusCode::UNAUTHORIZED => {}
            StatusCode::FORBIDDEN | StatusCode::NOT_FOUND => return Ok(false),
            other => {
                return Err(unreachable(
                    repository,
                    &format!("checking client credentials: registry answered {other}"),
                ));
            }
        }
        let is_basic = authorization
            .to_str()
            .is_ok_and(|v| v.len() > 6 && v[..6].eq_ignore_ascii_case("basic "));
        let challenge = response
            .headers()
            .get(header::WWW_AUTHENTICATE)
            .and_then(|v| v.to_str().ok())
            .and_then(BearerChallenge::parse);
        let (true, Some(challenge)) = (is_basic, challenge) else {
            return Ok(false);
        };
        let Some(token) = self
            .client_token(repository, &challenge, authorization)
            .await?
        else {
            return Ok(false);
        };
        let mut bearer = HeaderValue::from_str(&format!("Bearer {token}"))
            .map_err(|_| unreachable(repository, "the registry's token is not a header value"))?;
        bearer.set_sensitive(true);
        let response = self.probe(repository, &url, &bearer).await?;
        Ok(response.status() == StatusCode::OK)
    }

    /// One GET with the client's credentials, redirects not followed.
    async fn probe(
        &self,
        repository: &str,
        url: &Url,
        authorization: &HeaderValue,
    ) -> Result<reqwest::Response, SourceError> {
        self.http
            .client()
            .get(url.clone())
            .header(header::AUTHORIZATION, authorization.clone())
            .send()
            .await
            .map_err(|e| unreachable(repository, &reqwest_error_without_url(&e)))
    }

    /// The token the registry's realm issues to the client's Basic credentials for
    /// pulling `repository`; `None` when the realm refuses them.
    async fn client_token(
        &self,
        repository: &str,
        challenge: &BearerChallenge,
        authorization: &HeaderValue,
    ) -> Result<Option<String>, SourceError> {
        let mut realm = Url::parse(&challenge.realm)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https"))
            .ok_or_else(|| unreachable(repository, "the registry's token realm is not a URL"))?;
        {
            let mut query = realm.query_pairs_mut();
            if let Some(service) = &challenge.service {
                query.append_pair("service", service);
            }
            query.append_pair("scope", &format!("repository:{repository}:pull"));
        }
        let response = self.probe(repository, &realm, authorization).await?;
        match response.status() {
            StatusCode::OK => {}
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => return Ok(None),
            other => {
                return Err(unreachable(
                    repository,
                    &format!("token realm answered {other}"),
                ));
            }
        }
        let answer: TokenAnswer = response
            .json()
            .await
            .map_err(|_| unreachable(repository, "token realm answered no token"))?;
        Ok(answer.token.or(answer.access_token))
    }

    /// In redirect mode, the registry's own storage redirect for a blob (another
    /// origin, reached without the gateway's credentials); `None` when the registry
    /// serves the blob itself, so the gateway must proxy it.
    pub async fn storage_redirect(
        &self,
        repository: &str,
        digest: &str,
    ) -> Result<Option<Url>, SourceError> {
        super::check_name(repository)?;
        super::check_digest(repository, digest)?;
        let path = format!("v2/{repository}/blobs/{digest}");
        match self
            .http
            .locate(RequestKind::Blob, repository, &path)
            .await?
        {
            // A location carrying userinfo is not handed to clients: proxy instead.
            Sent::Elsewhere(url) if url.username().is_empty() && url.password().is_none() => {
                Ok(Some(url))
            }
            Sent::Elsewhere(_) => Ok(None),
            Sent::Answered(response) if response.status().is_success() => Ok(None),
            Sent::Answered(response) => Err(crate::source::http::status_error(
                response.status(),
                repository,
                digest,
            )),
        }
    }
}

/// `WWW-Authenticate: Bearer realm="…",service="…"`.
#[derive(Debug, PartialEq, Eq)]
struct BearerChallenge {
    realm: String,
    service: Option<String>,
}

impl BearerChallenge {
    fn parse(header: &str) -> Option<BearerChallenge> {
        let (scheme, params) = header.trim().split_once(' ')?;
        if !scheme.eq_ignore_ascii_case("bearer") {
            return None;
        }
        let (mut realm, mut service) = (None, None);
        let mut rest = params.trim();
        while !rest.is_empty() {
            let (name, after) = rest.split_once('=')?;
            let after = after.trim_start();
            let (value, remaining) = match after.strip_prefix('"') {
                Some(quoted) => {
                    let end = quoted.find('"')?;
                    (&quoted[..end], &quoted[end + 1..])
                }
                None => match after.find(',') {
                    Some(end) => (&after[..end], &after[end..]),
                    None => (after, ""),
                },
            };
            match name.trim().to_ascii_lowercase().as_str() {
                "realm" => realm = Some(value.to_owned()),
                "service" => service = Some(value.to_owned()),
                _ => {}
            }
            rest = remaining.trim_start().trim_start_matches(',').trim_start();
        }
        Some(BearerChallenge {
            realm: realm?,
            service,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_bearer_challenges() {
        assert_eq!(
            BearerChallenge::parse(
                r#"Bearer realm="https://auth.example.org/token",service="registry",scope="repository:a:pull""#
            ),
            Some(BearerChallenge {
                realm: "https://auth.example.org/token".into(),
                service: Some("registry".into()),
            })
        );
        assert_eq!(
            BearerChallenge::parse("bearer realm=http://127.0.0.1:1/token"),
            Some(BearerChallenge {
                realm: "http://127.0.0.1:1/token".into(),
                service: None,
            })
        );
        assert_eq!(BearerChallenge::parse(r#"Basic realm="x""#), None);
        assert_eq!(BearerChallenge::parse(r#"Bearer service="x""#), None);
        assert_eq!(
            BearerChallenge::parse(r#"Bearer realm="unterminated"#),
            None
        );
    }
}
