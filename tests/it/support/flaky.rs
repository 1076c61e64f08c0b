//! A real HTTP server in front of a registry that answers the first requests with
//! `429 Too Many Requests` and `Retry-After`, then forwards everything unchanged
//! (the `/v2/` probe is never refused).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

struct Front {
    upstream: String,
    refusals_left: AtomicUsize,
    client: reqwest::Client,
}

/// A running front server; stops when dropped.
pub struct FlakyFront {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FlakyFront {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Starts a front for `upstream` that refuses the first `refusals` requests with 429
/// and `Retry-After: 1`.
pub async fn start(upstream: &str, refusals: usize) -> FlakyFront {
    let front = Arc::new(Front {
        upstream: upstream.to_owned(),
        refusals_left: AtomicUsize::new(refusals),
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
    });
    let app = axum::Router::new().fallback(forward).with_state(front);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    FlakyFront { url, task }
}

async fn forward(State(front): State<Arc<Front>>, request: Request) -> Response {
    // The API version check (`/v2/`, the token flow's probe) always passes.
    let refuse = request.uri().path() != "/v2/"
        && front
            .refusals_left
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
    if refuse {
        return Response::builder()
            .status(StatusCode::TOO_MANY_REQUESTS)
            .header("retry-after", "1")
            .body(Body::from("slow down"))
            .unwrap();
    }
    let (parts, body) = request.into_parts();
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let body = axum::body::to_bytes(body, usize::MAX).await.unwrap();
    let mut headers = parts.headers.clone();
    headers.remove("host");
    let upstream = front
        .client
        .request(parts.method, format!("{}{path}", front.upstream))
        .headers(headers)
        .body(body)
        .send()
        .await
        .unwrap();
    let mut response = Response::builder().status(upstream.status().as_u16());
    let out: &mut HeaderMap = response.headers_mut().unwrap();
    for (name, value) in upstream.headers() {
        out.append(name, value.clone());
    }
    response
        .body(Body::from(upstream.bytes().await.unwrap()))
        .unwrap()
}
