//! `GET /api/events`: server-sent events, one `data:` line of JSON per change of the watch
//! loop ([`Change`](crate::watch::Change): a round ended, an alert fired or resolved), so the
//! page refreshes what changed without reloading. A listener too slow to keep up misses
//! changes, never blocks the loop.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::routing::get;
use axum::Router;
use futures_util::stream::Stream;
use tokio::sync::broadcast::error::RecvError;

use super::api::Shared;

pub(super) fn router() -> Router<Arc<Shared>> {
    Router::new().route("/api/events", get(events))
}

async fn events(
    State(shared): State<Arc<Shared>>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let changes = shared.live.subscribe();
    let stream = futures_util::stream::unfold(changes, |mut changes| async move {
        loop {
            match changes.recv().await {
                Ok(change) => {
                    let event = Event::default().json_data(&change).ok()?;
                    return Some((Ok(event), changes));
                }
                Err(RecvError::Lagged(_)) => {}
                Err(RecvError::Closed) => return None,
            }
        }
    });
    Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}
