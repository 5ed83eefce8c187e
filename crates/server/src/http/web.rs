//! The demo web app (`/`, `/demo/…`) and the browser SDK (`/sdk/…`) as static files.
//!
//! By default both are served from copies embedded in the binary at build time (`build.rs`), so
//! a copied or `cargo install`ed `alcove` serves them from any folder. `Config::web_dir` (`alcove
//! serve --web-dir DIR`) serves `DIR/demo/` and `DIR/sdk-js/src/` from disk instead, for working
//! on the SDK or the demo without rebuilding the server.
//!
//! `/sdk/` answers cross-origin requests from the origins in `Config::cors_origins` (`Access-
//! Control-Allow-Origin`), so an app served elsewhere can load the SDK from the Alcove server,
//! as vendors' script tags do. Nothing else on the server sends CORS headers.
//!
//! Every response carries `X-Frame-Options: DENY`, `X-Content-Type-Options: nosniff` and
//! `Referrer-Policy: no-referrer`; every HTML page also a Content-Security-Policy that lets the
//! demo run and nothing else ([`secure`], docs/security.md, "Headers and logs").

use crate::{AppState, Config};
use axum::http::{header, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use std::path::Path;
use std::sync::Arc;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::services::{ServeDir, ServeFile};

/// Every embedded file: (URL path, contents), from `build.rs`.
static ASSETS: &[(&str, &[u8])] = include!(concat!(env!("OUT_DIR"), "/web_assets.rs"));

/// The embedded file served at `path` (`/` is the demo page), if any.
pub fn embedded(path: &str) -> Option<&'static [u8]> {
    let path = match path {
        "/" | "/demo" | "/demo/" => "/demo/index.html",
        p => p,
    };
    ASSETS.iter().find(|(p, _)| *p == path).map(|(_, b)| *b)
}

/// The routes for `/`, `/demo/` and `/sdk/`: embedded files, or the folder `dir`.
pub fn routes(dir: Option<&Path>, cors_origins: &[String]) -> Router<Arc<AppState>> {
    let (site, sdk) = match dir {
        Some(dir) => (
            Router::new()
                .nest_service("/demo", ServeDir::new(dir.join("demo")))
                .route_service("/", ServeFile::new(dir.join("demo/index.html"))),
            Router::new().nest_service(
                "/sdk",
                ServeDir::new(dir.join("sdk-js/src"))
                    .fallback(ServeDir::new(dir.join("sdk-js/dist"))),
            ),
        ),
        None => (
            Router::new()
                .route("/", get(serve_embedded))
                .route("/demo/{*path}", get(serve_embedded)),
            Router::new().route("/sdk/{*path}", get(serve_embedded)),
        ),
    };
    let sdk = match cors(cors_origins) {
        Some(layer) => sdk.layer(layer),
        None => sdk,
    };
    site.merge(sdk)
}

/// The CORS policy of `/sdk/`: GET and HEAD from the listed origins (`*`: any origin); none
/// when the list is empty.
fn cors(origins: &[String]) -> Option<CorsLayer> {
    if origins.is_empty() {
        return None;
    }
    let allow = if origins.iter().any(|o| o == "*") {
        AllowOrigin::any()
    } else {
        // Origins were checked when the configuration was read (`parse_origin`).
        AllowOrigin::list(origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()))
    };
    Some(
        CorsLayer::new()
            .allow_origin(allow)
            .allow_methods([Method::GET, Method::HEAD]),
    )
}

/// The Content-Security-Policy of HTML pages: scripts, styles and images of this origin only
/// (no inline script, no `eval`), media from the page's own streams, network to this origin
/// and to the configured signalling origin, never framed.
pub fn content_security_policy(config: &Config) -> String {
    let signal = config.signal_url();
    // scheme://host:port of the signalling URL.
    let origin = match signal.match_indices('/').nth(2) {
        Some((i, _)) => &signal[..i],
        None => signal.as_str(),
    };
    format!(
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
         media-src 'self' blob: mediastream:; connect-src 'self' {origin}; base-uri 'none'; \
         form-action 'none'; frame-ancestors 'none'"
    )
}

/// Adds the security headers to every response of `router`: `X-Frame-Options: DENY`,
/// `X-Content-Type-Options: nosniff`, `Referrer-Policy: no-referrer`, and on HTML the
/// [`content_security_policy`].
pub fn secure<S: Clone + Send + Sync + 'static>(router: Router<S>, config: &Config) -> Router<S> {
    let csp = HeaderValue::from_str(&content_security_policy(config))
        .unwrap_or_else(|_| HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"));
    router.layer(axum::middleware::map_response(move |mut res: Response| {
        let csp = csp.clone();
        async move {
            let h = res.headers_mut();
            h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
            h.insert(
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            );
            h.insert(
                header::REFERRER_POLICY,
                HeaderValue::from_static("no-referrer"),
            );
            let html = h
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.starts_with("text/html"));
            if html {
                h.insert(header::CONTENT_SECURITY_POLICY, csp);
            }
            res
        }
    }))
}

/// Checks one `--cors-origin` value: `*`, or `scheme://host[:port]` without a path.
pub fn parse_origin(s: &str) -> Result<String, String> {
    let s = s.trim().trim_end_matches('/');
    if s == "*" {
        return Ok(s.to_owned());
    }
    let rest = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"))
        .ok_or_else(|| format!("`{s}`: an origin is `*` or `http(s)://host[:port]`"))?;
    if rest.is_empty() || rest.contains('/') || HeaderValue::from_str(s).is_err() {
        return Err(format!(
            "`{s}`: an origin is `http(s)://host[:port]`, without a path"
        ));
    }
    Ok(s.to_owned())
}

async fn serve_embedded(uri: Uri) -> Response {
    let Some(body) = embedded(uri.path()) else {
        return (StatusCode::NOT_FOUND, "no such file").into_response();
    };
    let path = match uri.path() {
        "/" | "/demo" | "/demo/" => "index.html",
        p => p,
    };
    (
        [
            (header::CONTENT_TYPE, content_type(path)),
            // The files change with the binary: browsers revalidate instead of guessing.
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}

fn content_type(path: &str) -> &'static str {
    let ext = path.rsplit('.').next().unwrap_or("");
    match ext {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "ts" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sdk_and_the_demo_are_embedded_byte_for_byte() {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
        for (url, file) in [
            ("/sdk/alcove.js", "sdk-js/src/alcove.js"),
            ("/sdk/media.js", "sdk-js/src/media.js"),
            ("/sdk/EnxRtc.js", "sdk-js/dist/EnxRtc.js"),
            ("/", "demo/index.html"),
            ("/demo/app.js", "demo/app.js"),
        ] {
            let on_disk = std::fs::read(format!("{root}/{file}")).unwrap();
            assert_eq!(embedded(url), Some(on_disk.as_slice()), "{url}");
        }
        assert_eq!(embedded("/sdk/nope.js"), None);
        assert_eq!(embedded("/sdk/../Cargo.toml"), None);
    }

    #[test]
    fn origins_are_checked() {
        assert_eq!(
            parse_origin("https://app.example.com/").unwrap(),
            "https://app.example.com"
        );
        assert_eq!(
            parse_origin("http://localhost:3000").unwrap(),
            "http://localhost:3000"
        );
        assert_eq!(parse_origin("*").unwrap(), "*");
        assert!(parse_origin("app.example.com").is_err());
        assert!(parse_origin("https://app.example.com/x").is_err());
        assert!(parse_origin("https://").is_err());
    }
}
