//! Runs the gateway: sources, the refresh loop, the router, graceful shutdown.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;

use arc_swap::ArcSwap;
use tokio::net::TcpListener;
use tracing::{info, warn};

use crate::access::AccessControl;
use crate::api::{self, AppState};
use crate::config::Settings;
use crate::crawl::status::StatusBoard;
use crate::events::route::WebhookState;
use crate::index::Snapshot;
use crate::refresh::Refresher;
use crate::source::{Source, SourceError};

/// Builds every configured source (no I/O yet).
pub fn sources(
    settings: &Settings,
) -> Result<Vec<(crate::config::SourceSettings, Arc<Source>)>, SourceError> {
    settings
        .sources
        .iter()
        .map(|s| Ok((s.clone(), Arc::new(Source::new(s)?))))
        .collect()
}

/// Serves the STAC API on `listener` until `shutdown` resolves, crawling in the background.
pub async fn run(
    settings: Settings,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let sources = sources(&settings)?;
    let snapshot = Arc::new(ArcSwap::from_pointee(Snapshot::default()));
    let status = StatusBoard::new(settings.sources.iter().map(|s| s.name.clone()));
    let by_name: BTreeMap<String, Arc<Source>> = sources
        .iter()
        .map(|(s, source)| (s.name.clone(), Arc::clone(source)))
        .collect();
    let refresher = Arc::new(Refresher::new(
        sources,
        Arc::clone(&snapshot),
        status.clone(),
    ));
    let crawler = Arc::clone(&refresher).spawn();
    let mut event_loop = None;
    let webhooks = settings.webhooks.secret.as_ref().map(|secret| {
        let (queue, task) = refresher.spawn_event_loop();
        event_loop = Some(task);
        WebhookState {
            secret: Arc::from(secret.as_str()),
            queue,
        }
    });
    if settings
        .access
        .as_ref()
        .is_some_and(|a| a.signing_keys.is_empty())
    {
        warn!("access control has no [[access.signing_keys]]: signed hrefs die with this process");
    }
    let state = AppState {
        snapshot,
        sources: Arc::new(by_name),
        status,
        server: Arc::new(settings.server.clone()),
        webhooks,
        access: settings
            .access
            .clone()
            .map(|a| Arc::new(AccessControl::new(a))),
    };
    let app = api::router(state);
    let address = listener.local_addr()?;
    info!("listening on http://{address}");
    let result = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await;
    crawler.abort();
    if let Some(task) = event_loop {
        task.abort();
    }
    Ok(result?)
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    info!("shutting down");
}
