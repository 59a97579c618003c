//! Scale's `/v6/recipe-types/` routes (and their `/v7/` aliases).

use axum::Router;

use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
}
