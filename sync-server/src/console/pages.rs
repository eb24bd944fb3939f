//! The console's pages: `ui/dist` (built by `npm run build` in `ui/`),
//! served at `/`. Release builds carry the files inside the binary; debug
//! builds read them from `ui/dist` at each request, so a rebuilt console
//! shows without rebuilding the server. A server built before the console
//! was built answers `/` with a page that says how to build it.

use axum::body::Body;
use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use rust_embed::RustEmbed;

#[derive(RustEmbed)]
#[folder = "../ui/dist"]
#[allow_missing = true]
struct Pages;

/// The console's HTML may load only what the server serves, plus map
/// tiles (any image source) and inline styles (Element Plus sets them).
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
     img-src 'self' data: blob: https: http:; connect-src 'self'; font-src 'self' data:; \
     frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'";

const NOT_BUILT: &str = "<!doctype html><meta charset=utf-8><title>Fieldloop</title>\
<p>监管工作台尚未构建：请在 ui/ 目录运行 <code>npm ci &amp;&amp; npm run build</code>，再启动服务器。</p>\
<p>The console is not built: run <code>npm ci &amp;&amp; npm run build</code> in ui/ and start the server again.</p>";

fn file(path: &str) -> Option<Response> {
    let page = Pages::get(path)?;
    let mime = page.metadata.mimetype().to_owned();
    let immutable = path.starts_with("assets/");
    let mut response = (StatusCode::OK, Body::from(page.data.into_owned())).into_response();
    let headers = response.headers_mut();
    if let Ok(mime) = HeaderValue::try_from(mime) {
        headers.insert(header::CONTENT_TYPE, mime);
    }
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(if immutable {
            // Vite names assets by their content hash.
            "public, max-age=31536000, immutable"
        } else {
            "no-cache"
        }),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if !immutable {
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        );
        headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    }
    Some(response)
}

/// The public verification pages' script (`ui/dist/verify/verify.js`,
/// built by `npm run build`), if built.
pub fn verify_script() -> Option<Vec<u8>> {
    Pages::get("verify/verify.js").map(|f| f.data.into_owned())
}

async fn index() -> Response {
    file("console.html").unwrap_or_else(|| {
        // 200: an error status would be rewritten into the API's JSON error.
        (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            NOT_BUILT,
        )
            .into_response()
    })
}

async fn asset(Path(name): Path<String>) -> Response {
    // Names are Vite's (`console-AbC123.js`); nothing else is looked up.
    let plain = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        && !name.starts_with('.');
    match plain.then(|| file(&format!("assets/{name}"))).flatten() {
        Some(response) => response,
        None => crate::error::ApiError::new(
            crate::error::Code::HttpNotFound,
            format!("没有文件 {name} (no such file)"),
        )
        .into_response(),
    }
}

/// `GET /` and `GET /assets/{name}`.
pub fn router<S: Clone + Send + Sync + 'static>() -> axum::Router<S> {
    use axum::routing::get;
    axum::Router::new()
        .route("/", get(index))
        .route("/console.html", get(index))
        .route("/assets/{name}", get(asset))
}
