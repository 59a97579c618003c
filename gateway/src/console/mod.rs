//! The web console at `/console`: one HTML page, one script and one style
//! sheet, written by hand (plain JavaScript, no framework, no build step) and
//! embedded in the binary, so it works offline and a fresh clone needs no
//! Node.js. The page holds no data: its script calls the scoped REST routes
//! from the same origin, with the token the user gives it (kept in
//! `sessionStorage`) when authentication is on.

use axum::response::{IntoResponse, Response};
use http::header;

const PAGE: &str = include_str!("index.html");
const SCRIPT: &str = include_str!("console.js");
const STYLE: &str = include_str!("console.css");

/// Only this origin's script, styles and API; no framing. Inline `style`
/// attributes are allowed because the graph and progress bars are sized with them.
const POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

fn asset(body: &'static str, content_type: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            // Served from the binary: a new release is a new page, so no long caching.
            (header::CACHE_CONTROL, "no-cache"),
            (header::CONTENT_SECURITY_POLICY, POLICY),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        body,
    )
        .into_response()
}

/// The console's page; everything it shows comes from the REST routes.
#[utoipa::path(
    get, path = "/console", operation_id = "console_page", tag = "Console",
    description = "The web console (embedded in the binary, works offline): services, jobs, recipe types drawn as graphs, recipes with live node states. It calls the REST routes from the same origin, with a bearer token when authentication is on.",
    responses((status = 200, description = "The console (HTML).", body = String, content_type = "text/html"))
)]
pub async fn page() -> Response {
    asset(PAGE, "text/html; charset=utf-8")
}

/// The console's script.
#[utoipa::path(
    get, path = "/console/console.js", operation_id = "console_script", tag = "Console",
    responses((status = 200, description = "JavaScript.", body = String, content_type = "text/javascript"))
)]
pub async fn script() -> Response {
    asset(SCRIPT, "text/javascript; charset=utf-8")
}

/// The console's style sheet.
#[utoipa::path(
    get, path = "/console/console.css", operation_id = "console_style", tag = "Console",
    responses((status = 200, description = "CSS.", body = String, content_type = "text/css"))
)]
pub async fn style() -> Response {
    asset(STYLE, "text/css; charset=utf-8")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_loads_only_its_own_assets() {
        assert!(PAGE.contains("<script src=\"/console/console.js\"></script>"));
        assert!(PAGE.contains("href=\"/console/console.css\""));
        for asset in [PAGE, SCRIPT, STYLE] {
            // The SVG namespace is a name, not a fetch.
            let asset = asset.replace("\"http://www.w3.org/2000/svg\"", "");
            assert!(
                !asset.contains("http://") && !asset.contains("https://"),
                "an absolute URL"
            );
        }
    }
}
