//! The HTTP server of `ict watch --listen`: `/metrics` and whatever routes the caller adds
//! (the dashboard), on an injected listener with an injected shutdown, so tests bind
//! `127.0.0.1:0`.

use std::future::Future;
use std::sync::Arc;

use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;

use super::live::Live;

/// Makes the routes served next to `/metrics`, from the loop's [`Live`] view.
pub type Routes = Box<dyn FnOnce(Arc<Live>) -> Router + Send>;

/// Where and what `ict watch` serves.
pub struct Listen {
    pub listener: tokio::net::TcpListener,
    pub routes: Routes,
}

impl Listen {
    /// `/metrics`, and at `/` a pointer to it.
    pub fn metrics(listener: tokio::net::TcpListener) -> Listen {
        Listen {
            listener,
            routes: Box::new(|_| {
                Router::new().route("/", get(|| async { "ict watch: see /metrics\n" }))
            }),
        }
    }

    /// Serves `/metrics` and the routes until `shutdown` completes.
    pub async fn serve(
        self,
        live: Arc<Live>,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let app = router(live.clone()).merge((self.routes)(live));
        axum::serve(self.listener, app)
            .with_graceful_shutdown(shutdown)
            .await
    }
}

/// `GET /metrics`: the exposition of the last round.
pub fn router(live: Arc<Live>) -> Router {
    Router::new().route(
        "/metrics",
        get(move || {
            let text = live.exposition();
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
}
