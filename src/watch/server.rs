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
    let feed = app.hub.subscribe(0).map(|(snapshot, rx)| Feed {
        first: Some(snapshot),
        rx,
        guard: app.hub.client(),
        coalesced: 0,
    });
    Sse::new(futures_util::stream::unfold(feed, next_event))
        .keep_alive(KeepAlive::new().interval(KEEP_ALIVE))
}

/// One page's stream: the snapshot first, then each update as it is published.
struct Feed {
    first: Option<String>,
    rx: broadcast::Receiver<Message>,
    guard: ClientGuard,
    /// Updates this page skipped so far.
    coalesced: u64,
}

async fn next_event(feed: Option<Feed>) -> Option<(Result<Event, Infallible>, Option<Feed>)> {
    let mut feed = feed?;
    if let Some(snapshot) = feed.first.take() {
        return Some((Ok(Event::default().data(snapshot)), Some(feed)));
    }
    match feed.rx.recv().await {
        Ok(message) => Some((Ok(Event::default().data(&*message)), Some(feed))),
        // Behind by `n`: skip them, and start again from the model as it is now.
        Err(RecvError::Lagged(n)) => {
            feed.coalesced += n;
            feed.guard.hub().add_coalesced(n);
            let (snapshot, rx) = feed.guard.hub().subscribe(feed.coalesced)?;
            feed.rx = rx;
            Some((Ok(Event::default().data(snapshot)), Some(feed)))
        }
        Err(RecvError::Closed) => None,
    }
}
