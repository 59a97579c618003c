//! The route table of the whole REST surface: TopChef's, Scale's and Brigade's own.

use axum::Router;
use axum::handler::Handler;
use axum::routing::{MethodRouter, delete, get, patch, post};
use http::Method;

use crate::brigade::{docs, health, interface, leases};
use crate::state::AppState;
use crate::topchef::{bulk, jobs, root, services};

/// One method on one path and the handler that serves it.
pub struct Route {
    pub method: Method,
    pub path: String,
    handler: MethodRouter<AppState>,
}

impl Route {
    /// A GET route (axum also answers HEAD with it).
    pub fn get<H: Handler<T, AppState>, T: 'static>(path: impl Into<String>, handler: H) -> Self {
        Self::new(Method::GET, path, get(handler))
    }

    pub fn post<H: Handler<T, AppState>, T: 'static>(path: impl Into<String>, handler: H) -> Self {
        Self::new(Method::POST, path, post(handler))
    }

    pub fn patch<H: Handler<T, AppState>, T: 'static>(path: impl Into<String>, handler: H) -> Self {
        Self::new(Method::PATCH, path, patch(handler))
    }

    pub fn delete<H: Handler<T, AppState>, T: 'static>(path: impl Into<String>, handler: H) -> Self {
        Self::new(Method::DELETE, path, delete(handler))
    }

    fn new(method: Method, path: impl Into<String>, handler: MethodRouter<AppState>) -> Self {
        let path = path.into();
        Self { method, path, handler }
    }
}

/// Every route of the REST surface. [`router`] is built from this table alone,
/// so [`served`] is exactly what the gateway serves (the OpenAPI document is
/// checked against it by the end-to-end tests).
pub fn table() -> Vec<Route> {
    let mut routes = vec![
        Route::get("/", root::metadata),
        Route::get("/healthz", health::healthz),
        Route::get("/readyz", health::readyz),
        Route::get("/metrics", health::metrics),
        Route::get("/openapi.json", docs::openapi_json),
        Route::get("/docs", docs::page),
        Route::get("/docs/redoc.standalone.js", docs::redoc_script),
        Route::get("/validator", root::validator_info),
        Route::post("/validator", root::validate),
        Route::get("/services", services::list),
        Route::post("/services", services::create),
        Route::get("/services/{id}", services::detail),
        Route::patch("/services/{id}", services::patch),
        Route::get("/services/{id}/queue", services::queue),
        Route::get("/services/{id}/interface", interface::show),
        Route::get("/services/{id}/jobs", services::jobs),
        Route::post("/services/{id}/jobs", services::submit),
        Route::patch("/services/{id}/jobs", services::jobs_heartbeat),
        Route::post("/services/{id}/jobs/cancel", bulk::cancel),
        Route::post("/services/{id}/jobs/retry", bulk::retry),
        Route::get("/services/{id}/jobs/next", services::next),
        Route::post("/services/{id}/jobs/batch", leases::batch_submit),
        Route::post("/services/{id}/jobs/claim", leases::claim),
        Route::get("/jobs", jobs::list),
        Route::get("/jobs/{id}", jobs::detail),
        Route::patch("/jobs/{id}", jobs::patch),
        Route::delete("/jobs/{id}", jobs::delete),
        Route::post("/jobs/{id}/retry", jobs::retry),
        Route::post("/jobs/{id}/heartbeat", leases::heartbeat),
        Route::post("/jobs/{id}/complete", leases::complete),
        Route::post("/jobs/{id}/fail", leases::fail),
        Route::post("/jobs/{id}/cancel", leases::cancel),
    ];
    routes.extend(crate::scale::routes());
    routes
}

/// The (method, path) pairs the router serves, paths in axum's (and OpenAPI's)
/// `{param}` form. HEAD (on GET routes) and OPTIONS are answered on every path besides.
pub fn served() -> Vec<(Method, String)> {
    table().into_iter().map(|r| (r.method, r.path)).collect()
}

pub fn router(state: AppState) -> Router {
    table()
        .into_iter()
        .fold(Router::new(), |router, r| router.route(&r.path, r.handler))
        .with_state(state)
}
