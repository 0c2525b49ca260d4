//! The `/metrics` endpoint of `ict watch` (axum), on an injected listener with an injected
//! shutdown, so tests bind `127.0.0.1:0`.

use std::future::Future;
use std::sync::{Arc, RwLock};

use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;

/// The exposition of the last tick, shared between the loop and the server.
pub type Shared = Arc<RwLock<String>>;

/// `GET /metrics`: the last exposition; `GET /`: a pointer to it.
pub fn router(exposition: Shared) -> Router {
    Router::new()
        .route(
            "/metrics",
            get(move || {
                let text = exposition.read().map(|t| t.clone()).unwrap_or_default();
                async move {
                    (
                        [(
                            header::CONTENT_TYPE,
                            "text/plain; version=0.0.4; charset=utf-8",
                        )],
                        text,
                    )
                        .into_response()
                }
            }),
        )
        .route("/", get(|| async { "ict watch: see /metrics\n" }))
}

/// Serves [`router`] on `listener` until `shutdown` completes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    exposition: Shared,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(exposition))
        .with_graceful_shutdown(shutdown)
        .await
}
