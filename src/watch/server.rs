//! The HTTP side of `protolab watch` (axum): `/` the page, `/events` the update
//! stream (Server-Sent Events), `/stats` the hub's counters as JSON. Every request
//! goes through [`Access`] first (403 otherwise). The server only reads: no route
//! takes input beyond the token, and none runs anything.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::{self, Next};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use futures_util::Stream;
use tokio::sync::broadcast::{self, error::RecvError};

use super::access::Access;
use super::hub::{ClientGuard, Hub, Message};

/// How often an idle event stream sends a comment: how soon a closed tab is
/// noticed (its stream ends and [`super::hub::Stats::clients`] drops).
const KEEP_ALIVE: Duration = Duration::from_secs(1);

#[derive(Clone)]
struct App {
    hub: Arc<Hub>,
    access: Arc<Access>,
    page: Arc<str>,
}

/// The routes, with the access check in front of all of them.
pub fn router(hub: Arc<Hub>, access: Access, page: String) -> Router {
    let app = App {
        hub,
        access: Arc::new(access),
        page: page.into(),
    };
    Router::new()
        .route("/", get(page_handler))
        .route("/events", get(events))
        .route("/stats", get(stats))
        .layer(middleware::from_fn_with_state(app.clone(), check_access))
        .with_state(app)
}

async fn check_access(State(app): State<App>, request: Request, next: Next) -> Response {
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok());
    if app.access.allows(request.uri().query(), host) {
        next.run(request).await
    } else {
        (
            StatusCode::FORBIDDEN,
            "403: this page needs its token (the URL protolab watch printed)\n",
        )
            .into_response()
    }
}

async fn page_handler(State(app): State<App>) -> impl IntoResponse {
    (
        // The page is the same for every request: nothing to cache across runs.
        [(header::CACHE_CONTROL, "no-store")],
        Html(app.page.to_string()),
    )
}

async fn stats(State(app): State<App>) -> impl IntoResponse {
    Json(app.hub.stats())
}

async fn events(State(app): State<App>) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let stream = futures_util::stream::unfold(Feed::open(&app.hub), |feed| async move {
        let (data, feed) = next_message(feed).await?;
        Some((Ok(Event::default().data(&*data)), feed))
    });
    Sse::new(stream).keep_alive(KeepAlive::new().interval(KEEP_ALIVE))
}

/// One page's stream: the snapshot first, then each update as it is published.
struct Feed {
    first: Option<String>,
    rx: broadcast::Receiver<Message>,
    guard: ClientGuard,
    /// Updates this page skipped so far.
    coalesced: u64,
}

impl Feed {
    /// `None` once the watch has stopped (the stream then ends at once).
    fn open(hub: &Arc<Hub>) -> Option<Feed> {
        hub.subscribe(0).map(|(snapshot, rx)| Feed {
            first: Some(snapshot),
            rx,
            guard: hub.client(),
            coalesced: 0,
        })
    }
}

/// The next message for a page, and the feed to read the one after from; `None`
/// when the stream is over.
async fn next_message(feed: Option<Feed>) -> Option<(Message, Option<Feed>)> {
    let mut feed = feed?;
    if let Some(snapshot) = feed.first.take() {
        return Some((snapshot.into(), Some(feed)));
    }
    match feed.rx.recv().await {
        Ok(message) => Some((message, Some(feed))),
        // Behind by `n`: skip them, and start again from the model as it is now.
        Err(RecvError::Lagged(n)) => {
            feed.coalesced += n;
            feed.guard.hub().add_coalesced(n);
            let (snapshot, rx) = feed.guard.hub().subscribe(feed.coalesced)?;
            feed.rx = rx;
            Some((snapshot.into(), Some(feed)))
        }
        Err(RecvError::Closed) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::kernel::{KernelState, StateChange};
    use crate::watch::hub::CAPACITY;

    fn publish(hub: &Hub, port: u16) {
        hub.apply(|s| {
            s.on_kernel(&StateChange {
                ts_ns: 1,
                local: format!("127.0.0.1:{port}").parse().unwrap(),
                remote: "127.0.0.1:8001".parse().unwrap(),
                old: None,
                new: Some(KernelState::Established),
                time_wait_follows: false,
            })
        });
    }

    #[tokio::test]
    async fn a_page_gets_its_snapshot_then_each_update() {
        let hub = Hub::new();
        publish(&hub, 1000);
        let (first, feed) = next_message(Feed::open(&hub)).await.unwrap();
        assert!(
            first.starts_with("{\"type\":\"snapshot\",\"seq\":1,"),
            "{first}"
        );
        publish(&hub, 1001);
        let (next, _) = next_message(feed).await.unwrap();
        assert!(next.starts_with("{\"seq\":2,\"type\":\"kernel\""), "{next}");
    }

    #[tokio::test]
    async fn a_page_that_fell_behind_gets_a_snapshot_saying_how_many_updates_it_skipped() {
        let hub = Hub::new();
        let (_, feed) = next_message(Feed::open(&hub)).await.unwrap();
        let behind = CAPACITY as u16 + 5;
        for port in 0..behind {
            publish(&hub, 10000 + port);
        }
        let (resync, feed) = next_message(feed).await.unwrap();
        let json: serde_json::Value = serde_json::from_str(&resync).unwrap();
        assert_eq!(json["type"], "snapshot");
        assert_eq!(json["coalesced"], 5);
        assert_eq!(json["seq"], u64::from(behind));
        assert_eq!(
            json["kernel"].as_array().unwrap().len(),
            256,
            "the table is bounded"
        );
        assert_eq!(hub.stats().coalesced, 5);
        // Back in step: the next update is the next one published.
        publish(&hub, 1);
        let (next, _) = next_message(feed).await.unwrap();
        assert!(
            next.starts_with(&format!("{{\"seq\":{},", behind + 1)),
            "{next}"
        );
    }

    #[tokio::test]
    async fn streams_end_when_the_watch_stops_and_release_their_client() {
        let hub = Hub::new();
        let (_, feed) = next_message(Feed::open(&hub)).await.unwrap();
        assert_eq!(hub.stats().clients, 1);
        hub.close();
        assert!(next_message(feed).await.is_none());
        assert_eq!(hub.stats().clients, 0);
        assert!(Feed::open(&hub).is_none());
    }
}
