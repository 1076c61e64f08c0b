//! The one error type of the HTTP handlers and its one mapping to a response:
//! a status and a JSON body `{"code": "...", "description": "..."}` (STAC API style).
//!
//! Client mistakes keep their status and say what was wrong, naming the parameter;
//! internal failures answer a generic message and log their cause once, inside the
//! request's span.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A malformed or out-of-range parameter (query, path or body).
    #[error("invalid {parameter}: {reason}")]
    BadParameter {
        /// The parameter, as the client spelled it (`bbox`, `limit`, `body`, …).
        parameter: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// An unknown collection, item, asset or route; the text names it.
    #[error("{0} not found")]
    NotFound(String),
    /// Credentials were presented but are not accepted.
    #[error("{0}")]
    Unauthorized(String),
    /// A signed asset URL that has expired or does not match.
    #[error("{0}")]
    Forbidden(String),
    /// A known route called with a method it does not answer.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// A failure of the gateway itself; the cause is logged, never sent.
    #[error("internal error")]
    Internal(String),
}

impl ApiError {
    /// A 400 naming `parameter`.
    pub fn bad_parameter(parameter: &'static str, reason: impl Into<String>) -> ApiError {
        ApiError::BadParameter {
            parameter,
            reason: reason.into(),
        }
    }

    /// A 404 naming what is missing, e.g. ``collection `s2` ``.
    pub fn not_found(what: impl Into<String>) -> ApiError {
        ApiError::NotFound(what.into())
    }

    /// The HTTP status and the `code` of the body.
    fn status(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::BadParameter { .. } => (StatusCode::BAD_REQUEST, "BadRequest"),
            ApiError::NotFound(_) => (StatusCode::NOT_FOUND, "NotFound"),
            ApiError::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "Unauthorized"),
            ApiError::Forbidden(_) => (StatusCode::FORBIDDEN, "Forbidden"),
            ApiError::MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, "MethodNotAllowed"),
            ApiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "InternalServerError"),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Internal(cause) = &self {
            tracing::error!(%cause, "request failed");
        }
        let (status, code) = self.status();
        let body = json!({"code": code, "description": self.to_string()});
        let mut response = (status, Json(body)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer realm=\"stac-oci\""),
            );
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn body(error: ApiError) -> (StatusCode, String, serde_json::Value) {
        let response = error.into_response();
        let status = response.status();
        let kind = response.headers()["content-type"]
            .to_str()
            .unwrap()
            .to_string();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .unwrap();
        (status, kind, serde_json::from_slice(&bytes).unwrap())
    }

    #[tokio::test]
    async fn maps_each_kind() {
        let (status, kind, json) = body(ApiError::bad_parameter("bbox", "4 numbers")).await;
        assert_eq!(
            (status, kind.as_str()),
            (StatusCode::BAD_REQUEST, "application/json")
        );
        assert_eq!(
            json,
            json!({"code": "BadRequest", "description": "invalid bbox: 4 numbers"})
        );
        let (status, _, json) = body(ApiError::not_found("collection `x`")).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(json["description"], "collection `x` not found");
        let (status, _, json) = body(ApiError::Internal("secret cause".into())).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(json["description"], "internal error");
        let (status, _, _) = body(ApiError::MethodNotAllowed).await;
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    }
}
