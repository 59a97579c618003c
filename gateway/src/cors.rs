//! CORS for browser clients (`BRIGADE_CORS_ORIGINS`): exact origins only,
//! none by default (then no CORS header is ever sent).

use std::convert::Infallible;

use axum::Router;
use axum::extract::Request;
use http::{HeaderValue, Method, header};
use tower::ServiceExt as _;
use tower_http::cors::{AllowOrigin, CorsLayer};

/// The methods the REST surface serves, as a preflight answers them.
const METHODS: [Method; 6] = [
    Method::GET,
    Method::HEAD,
    Method::POST,
    Method::PATCH,
    Method::DELETE,
    Method::OPTIONS,
];

/// `app` answering CORS for `origins`; `app` itself when there are none.
///
/// tower-http answers every OPTIONS as a preflight, so only a real preflight
/// (with `Origin` and `Access-Control-Request-Method`) goes to it: a plain
/// OPTIONS keeps the API's own answer (`Allow`, a JSON 404 for unknown paths).
pub fn wrap(app: Router, origins: Vec<HeaderValue>) -> Router {
    if origins.is_empty() {
        return app;
    }
    let cors = CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        .allow_methods(METHODS)
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
        .expose_headers([header::LOCATION, header::WWW_AUTHENTICATE, header::RETRY_AFTER])
        .max_age(std::time::Duration::from_secs(600));
    let with_cors = tower::Layer::layer(&cors, app.clone());
    Router::new().fallback_service(tower::service_fn(move |request: Request| {
        let plain = app.clone();
        let with_cors = with_cors.clone();
        async move {
            if request.method() == Method::OPTIONS && !is_preflight(&request) {
                plain.oneshot(request).await
            } else {
                Ok::<_, Infallible>(with_cors.oneshot(request).await?)
            }
        }
    }))
}

fn is_preflight(request: &Request) -> bool {
    let headers = request.headers();
    headers.contains_key(header::ORIGIN) && headers.contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
}
