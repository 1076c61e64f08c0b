//! The STAC API over HTTP (axum). Reads the current snapshot; never calls a registry
//! except through the asset proxy.

pub mod state;

pub use state::AppState;

/// Every route, once.
pub fn router(state: AppState) -> axum::Router {
    axum::Router::new().with_state(state)
}
