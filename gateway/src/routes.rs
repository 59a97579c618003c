//! The route table of the whole REST surface: TopChef's, Scale's and Brigade's own.

use std::sync::Arc;

use axum::Router;
use axum::handler::Handler;
use axum::middleware::from_fn_with_state;
use axum::routing::{MethodRouter, delete, get, patch, post};
use brigade_common::auth::Authenticator;
use http::Method;

use crate::auth::{ADMIN, Access, OPEN, READ, RouteGuard, SUBMIT, WORK};
use crate::brigade::{docs, health, interface, leases, stats};
use crate::console;
use crate::state::AppState;
use crate::topchef::{bulk, jobs, root, services};

/// One method on one path, who may call it, and the handler that serves it.
/// Every constructor takes the [`Access`], so a route cannot be declared without one.
pub struct Route {
    pub method: Method,
    pub path: String,
    pub access: Access,
    handler: MethodRouter<AppState>,
}

impl Route {
    /// A GET route (axum also answers HEAD with it).
    pub fn get<H: Handler<T, AppState>, T: 'static>(path: impl Into<String>, access: Access, handler: H) -> Self {
        Self::new(Method::GET, path, access, get(handler))
    }

    pub fn post<H: Handler<T, AppState>, T: 'static>(path: impl Into<String>, access: Access, handler: H) -> Self {
        Self::new(Method::POST, path, access, post(handler))
    }

    pub fn patch<H: Handler<T, AppState>, T: 'static>(path: impl Into<String>, access: Access, handler: H) -> Self {
        Self::new(Method::PATCH, path, access, patch(handler))
    }

    pub fn delete<H: Handler<T, AppState>, T: 'static>(path: impl Into<String>, access: Access, handler: H) -> Self {
        Self::new(Method::DELETE, path, access, delete(handler))
    }

    fn new(method: Method, path: impl Into<String>, access: Access, handler: MethodRouter<AppState>) -> Self {
        let path = path.into();
        Self {
            method,
            path,
            access,
            handler,
        }
    }
}

/// Every route of the REST surface. [`router`] is built from this table alone,
/// so [`served`] is exactly what the gateway serves (the OpenAPI document is
/// checked against it by the end-to-end tests).
pub fn table() -> Vec<Route> {
    let mut routes = vec![
        Route::get("/", OPEN, root::metadata),
        Route::get("/healthz", OPEN, health::healthz),
        Route::get("/readyz", OPEN, health::readyz),
        Route::get("/metrics", OPEN, health::metrics),
        Route::get("/openapi.json", OPEN, docs::openapi_json),
        Route::get("/docs", OPEN, docs::page),
        Route::get("/docs/redoc.standalone.js", OPEN, docs::redoc_script),
        Route::get("/console", OPEN, console::page),
        Route::get("/console/console.js", OPEN, console::script),
        Route::get("/console/console.css", OPEN, console::style),
        Route::get("/validator", READ, root::validator_info),
        Route::post("/validator", READ, root::validate),
        Route::get("/services", READ, services::list),
        Route::post("/services", ADMIN, services::create),
        Route::get("/services/{id}", READ, services::detail),
        Route::patch("/services/{id}", ADMIN, services::patch),
        Route::get("/services/{id}/queue", READ, services::queue),
        Route::get("/services/{id}/interface", READ, interface::show),
        Route::get("/services/{id}/stats", READ, stats::show),
        Route::get("/services/{id}/jobs", READ, services::jobs),
        Route::post("/services/{id}/jobs", SUBMIT, services::submit),
        Route::patch("/services/{id}/jobs", WORK, services::jobs_heartbeat),
        Route::post("/services/{id}/jobs/cancel", ADMIN, bulk::cancel),
        Route::post("/services/{id}/jobs/retry", ADMIN, bulk::retry),
        Route::get("/services/{id}/jobs/next", READ, services::next),
        Route::post("/services/{id}/jobs/batch", SUBMIT, leases::batch_submit),
        Route::post("/services/{id}/jobs/claim", WORK, leases::claim),
        Route::get("/jobs", READ, jobs::list),
        Route::get("/jobs/{id}", READ, jobs::detail),
        Route::patch("/jobs/{id}", WORK, jobs::patch),
        Route::delete("/jobs/{id}", ADMIN, jobs::delete),
        Route::post("/jobs/{id}/retry", ADMIN, jobs::retry),
        Route::post("/jobs/{id}/heartbeat", WORK, leases::heartbeat),
        Route::post("/jobs/{id}/complete", WORK, leases::complete),
        Route::post("/jobs/{id}/fail", WORK, leases::fail),
        Route::post("/jobs/{id}/cancel", ADMIN, leases::cancel),
    ];
    routes.extend(crate::scale::routes());
    routes
}

/// The (method, path) pairs the router serves, paths in axum's (and OpenAPI's)
/// `{param}` form. HEAD (on GET routes) and OPTIONS are answered on every path besides.
pub fn served() -> Vec<(Method, String)> {
    table().into_iter().map(|r| (r.method, r.path)).collect()
}

/// (method, path, access) of every route, for the route-table tests.
pub fn access() -> Vec<(Method, String, Access)> {
    table().into_iter().map(|r| (r.method, r.path, r.access)).collect()
}

/// The router, each route behind the check of its declared [`Access`].
pub fn router(state: AppState, authenticator: &Authenticator) -> Router {
    table()
        .into_iter()
        .fold(Router::new(), |router, r| {
            let guard = RouteGuard {
                authenticator: authenticator.clone(),
                access: r.access,
                action: Arc::from(format!("{} {}", r.method, r.path)),
                template: Arc::from(r.path.as_str()),
                method: r.method,
            };
            let handler = r.handler.layer(from_fn_with_state(guard, crate::auth::check));
            router.route(&r.path, handler)
        })
        .with_state(state)
}
