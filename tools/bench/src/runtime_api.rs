//! A Lambda Runtime API for one function process: it hands out the events the bench queues
//! and returns the function's answers, and notes when the function first asks for work —
//! the end of its cold init.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use tokio::sync::{mpsc, oneshot};

type Answer = Result<String, String>;

struct Shared {
    first_poll: Mutex<Option<Instant>>,
    events: tokio::sync::Mutex<mpsc::Receiver<(String, String)>>,
    waiting: Mutex<HashMap<String, oneshot::Sender<Answer>>>,
    init_error: Mutex<Option<String>>,
}

pub struct RuntimeApi {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    queue: mpsc::Sender<(String, String)>,
}

async fn next(State(shared): State<Arc<Shared>>) -> impl IntoResponse {
    if let Ok(mut first) = shared.first_poll.lock() {
        first.get_or_insert_with(Instant::now);
    }
    let Some((request_id, event)) = shared.events.lock().await.recv().await else {
        return (StatusCode::GONE, HeaderMap::new(), String::new());
    };
    let mut headers = HeaderMap::new();
    let deadline = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() + 30_000)
        .unwrap_or_default();
    for (name, value) in [
        ("lambda-runtime-aws-request-id", request_id),
        ("lambda-runtime-deadline-ms", deadline.to_string()),
        (
            "lambda-runtime-invoked-function-arn",
            "arn:aws:lambda:us-east-1:000000000000:function:bench".to_owned(),
        ),
        (
            "lambda-runtime-trace-id",
            "Root=1-00000000-000000000000000000000000".to_owned(),
        ),
    ] {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    }
    (StatusCode::OK, headers, event)
}

async fn answer(shared: &Shared, request_id: &str, answer: Answer) -> StatusCode {
    let waiting = shared
        .waiting
        .lock()
        .ok()
        .and_then(|mut w| w.remove(request_id));
    if let Some(waiting) = waiting {
        let _ = waiting.send(answer);
    }
    StatusCode::ACCEPTED
}

async fn response(
    State(shared): State<Arc<Shared>>,
    Path(request_id): Path<String>,
    body: Bytes,
) -> StatusCode {
    answer(
        &shared,
        &request_id,
        Ok(String::from_utf8_lossy(&body).into_owned()),
    )
    .await
}

async fn error(
    State(shared): State<Arc<Shared>>,
    Path(request_id): Path<String>,
    body: Bytes,
) -> StatusCode {
    answer(
        &shared,
        &request_id,
        Err(String::from_utf8_lossy(&body).into_owned()),
    )
    .await
}

async fn init_error(State(shared): State<Arc<Shared>>, body: Bytes) -> StatusCode {
    if let Ok(mut slot) = shared.init_error.lock() {
        *slot = Some(String::from_utf8_lossy(&body).into_owned());
    }
    StatusCode::ACCEPTED
}

impl RuntimeApi {
    pub async fn start() -> std::io::Result<RuntimeApi> {
        let (queue, events) = mpsc::channel(16);
        let shared = Arc::new(Shared {
            first_poll: Mutex::new(None),
            events: tokio::sync::Mutex::new(events),
            waiting: Mutex::new(HashMap::new()),
            init_error: Mutex::new(None),
        });
        let app = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route(
                "/2018-06-01/runtime/invocation/{id}/response",
                post(response),
            )
            .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
            .route("/2018-06-01/runtime/init/error", post(init_error))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        tokio::spawn(async move { axum::serve(listener, app).await });
        Ok(RuntimeApi {
            addr,
            shared,
            queue,
        })
    }

    /// When the function first asked for an event, if it has.
    pub fn first_poll(&self) -> Option<Instant> {
        self.shared.first_poll.lock().ok().and_then(|f| *f)
    }

    /// What the function reported as an init failure, if anything.
    pub fn init_error(&self) -> Option<String> {
        self.shared.init_error.lock().ok().and_then(|e| e.clone())
    }

    /// Invokes the function with `event` and waits for its answer.
    pub async fn invoke(&self, event: String) -> Answer {
        let request_id = uuid::Uuid::new_v4().to_string();
        let (sender, receiver) = oneshot::channel();
        if let Ok(mut waiting) = self.shared.waiting.lock() {
            waiting.insert(request_id.clone(), sender);
        }
        self.queue
            .send((request_id, event))
            .await
            .map_err(|_| "the runtime API is closed".to_owned())?;
        receiver
            .await
            .map_err(|_| "the function never answered".to_owned())?
    }
}
