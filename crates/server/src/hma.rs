//! HMA's routes with HMA's request and response shapes.

use std::sync::Arc;

use axum::Router;

use crate::state::AppState;

/// The HMA-compatible routes.
pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
}
