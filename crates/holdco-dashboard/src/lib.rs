//! holdco-dashboard: the browser app of `holdco serve`, at `/`.
//!
//! Every asset (HTML, CSS, the ES modules, the icon) is compiled into the binary with
//! `include_str!`, so the dashboard works offline and behind a firewall: nothing is fetched
//! from a CDN, and the Content-Security-Policy sent with the page forbids it. There is no
//! build step: the files under `assets/` are what the browser runs (plain modern
//! JavaScript modules, hand-written SVG charts).
//!
//! The app reads the server's JSON API with the bearer token the user signs in with (kept
//! in the tab's `sessionStorage`); the routes here need no token, as they hold no data.
#![deny(missing_docs)]

use axum::extract::Path;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

/// One embedded file: its name under `/dashboard/`, its media type and its text.
struct Asset {
    name: &'static str,
    media_type: &'static str,
    body: &'static str,
}

macro_rules! assets {
    ($($name:literal => $media:literal),* $(,)?) => {
        &[$(Asset { name: $name, media_type: $media, body: include_str!(concat!("../assets/", $name)) }),*]
    };
}

/// The app's files, all embedded.
const ASSETS: &[Asset] = assets! {
    "index.html" => "text/html; charset=utf-8",
    "style.css" => "text/css; charset=utf-8",
    "app.js" => "text/javascript; charset=utf-8",
    "api.js" => "text/javascript; charset=utf-8",
    "format.js" => "text/javascript; charset=utf-8",
    "dom.js" => "text/javascript; charset=utf-8",
    "timeline.js" => "text/javascript; charset=utf-8",
    "structure.js" => "text/javascript; charset=utf-8",
    "numbers.js" => "text/javascript; charset=utf-8",
    "chart.js" => "text/javascript; charset=utf-8",
    "more.js" => "text/javascript; charset=utf-8",
    "pages.js" => "text/javascript; charset=utf-8",
    "changes.js" => "text/javascript; charset=utf-8",
    "downloads.js" => "text/javascript; charset=utf-8",
    "governance.js" => "text/javascript; charset=utf-8",
    "icon.svg" => "image/svg+xml",
};

/// What the page may load: only this server's own files and API (no CDN, no inline script).
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; font-src 'self'; base-uri 'none'; \
     form-action 'self'; frame-ancestors 'none'";

/// The names of the embedded files (for tests and the docs).
pub fn asset_names() -> impl Iterator<Item = &'static str> {
    ASSETS.iter().map(|a| a.name)
}

/// The dashboard's routes: `/` (the page) and `/dashboard/{file}` (its assets). Generic in
/// the state so the server merges it into its own router with one line.
pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/", get(|| async { serve("index.html") }))
        .route(
            "/dashboard/{file}",
            get(|Path(file): Path<String>| async move { serve(&file) }),
        )
}

fn serve(name: &str) -> Response {
    let Some(asset) = ASSETS.iter().find(|a| a.name == name) else {
        return (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            format!("no dashboard file `{name}`"),
        )
            .into_response();
    };
    let mut response = asset.body.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(asset.media_type),
    );
    // The files change with the binary; revalidating is cheap on a local server.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt;

    async fn get(path: &str) -> Response {
        router::<()>()
            .oneshot(Request::get(path).body(Body::empty()).unwrap())
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn the_page_and_every_asset_are_served_with_their_type_and_policy() {
        let page = get("/").await;
        assert_eq!(page.status(), StatusCode::OK);
        assert_eq!(
            page.headers()[header::CONTENT_TYPE],
            "text/html; charset=utf-8"
        );
        assert!(page.headers()[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap()
            .contains("script-src 'self'"));
        for name in asset_names() {
            let response = get(&format!("/dashboard/{name}")).await;
            assert_eq!(response.status(), StatusCode::OK, "{name}");
        }
        assert_eq!(
            get("/dashboard/nothing.js").await.status(),
            StatusCode::NOT_FOUND
        );
    }

    /// No asset loads anything from another host: the dashboard works offline.
    #[test]
    fn no_asset_refers_to_another_host() {
        for asset in ASSETS {
            for marker in ["http://", "https://", "//cdn", "@import"] {
                let found = asset
                    .body
                    .lines()
                    .filter(|line| line.contains(marker))
                    // Namespace names of SVG are identifiers, not downloads.
                    .filter(|line| !line.contains("http://www.w3.org/2000/svg"))
                    .collect::<Vec<_>>();
                assert!(
                    found.is_empty(),
                    "{} refers to {marker}: {found:?}",
                    asset.name
                );
            }
        }
    }

    /// The page preloads every module it uses, so they load side by side rather than one
    /// import after another.
    #[test]
    fn the_page_preloads_every_module() {
        let page = ASSETS.iter().find(|a| a.name == "index.html").unwrap().body;
        for asset in ASSETS
            .iter()
            .filter(|a| a.name.ends_with(".js") && a.name != "app.js")
        {
            assert!(
                page.contains(&format!(
                    "rel=\"modulepreload\" href=\"/dashboard/{}\"",
                    asset.name
                )),
                "index.html does not preload {}",
                asset.name
            );
        }
    }

    /// Every module the page imports is embedded (a missing one would be a 404 in the
    /// browser, found only there).
    #[test]
    fn every_imported_module_is_embedded() {
        for asset in ASSETS.iter().filter(|a| a.name.ends_with(".js")) {
            for line in asset.body.lines() {
                if let Some(rest) = line.trim().strip_prefix("import ") {
                    let Some(start) = rest.find("'./") else {
                        continue;
                    };
                    let file = &rest[start + 3..];
                    let file = &file[..file.find('\'').unwrap()];
                    assert!(
                        asset_names().any(|n| n == file),
                        "{} imports {file}, which is not embedded",
                        asset.name
                    );
                }
            }
        }
    }
}
