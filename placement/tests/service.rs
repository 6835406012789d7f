//! End to end: the placement service from `run()` on port 0, polling three
//! regions of which two answer `/readyz` and one is down, driven over HTTP.

#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use placement::service::AdminToken;
use placement::service::wire::{ChatPlacement, RegionsResponse, RouteResponse};
use placement::topology::Topology;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

const TOKEN: &str = "operator-secret";

/// A stand-in region that is always ready.
async fn ready_region() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = Router::new().route("/readyz", get(|| async { "ready" }));
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

/// An address nothing listens on.
async fn down_region() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap()
}

/// eu-west is down, us-east and ap-south are up.
async fn topology() -> Topology {
    let (eu, us, ap) = (
        down_region().await,
        ready_region().await,
        ready_region().await,
    );
    Topology::from_yaml(&format!(
        "
regions:
  - {{ name: eu-west, location: {{ lat: 53.3, lon: -6.3 }}, http: '{eu}', quic: '127.0.0.1:1' }}
  - {{ name: us-east, location: {{ lat: 39.0, lon: -77.5 }}, http: '{us}', quic: '127.0.0.1:2' }}
  - {{ name: ap-south, location: {{ lat: 19.1, lon: 72.9 }}, http: '{ap}', quic: '127.0.0.1:3' }}
settings:
  heartbeat_interval_ms: 50
  # Long, so a region once seen stays healthy however slow the test machine is.
  health_timeout_ms: 600000
"
    ))
    .unwrap()
}

struct Service {
    base: String,
    http: reqwest::Client,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<Result<(), placement::RunError>>,
}

impl Service {
    async fn start(topology: Topology, state_file: &Path) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = oneshot::channel::<()>();
        let config = placement::Config {
            topology,
            state_file: Some(state_file.to_owned()),
            admin_token: AdminToken::new(Some(TOKEN.to_owned())),
        };
        let task = tokio::spawn(placement::run(config, listener, async {
            let _ = stopped.await;
        }));
        Self {
            base,
            http: reqwest::Client::new(),
            stop: Some(stop),
            task,
        }
    }

    async fn stop(mut self) {
        self.stop.take().unwrap().send(()).unwrap();
        self.task.await.unwrap().unwrap();
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap();
        read(response).await
    }

    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Value,
    ) -> (StatusCode, Value) {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .json(&body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        read(request.send().await.unwrap()).await
    }

    async fn put_chat(&self, chat: &str, token: Option<&str>, home: &str) -> (StatusCode, Value) {
        self.send(
            reqwest::Method::PUT,
            &format!("/v1/placement/chats/{chat}"),
            token,
            json!({"home": home}),
        )
        .await
    }

    async fn route(&self, query: &str) -> Vec<(String, bool)> {
        let (status, body) = self.get(&format!("/v1/placement/route?{query}")).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let route: RouteResponse = serde_json::from_value(body).unwrap();
        route
            .regions
            .into_iter()
            .map(|r| (r.name, r.healthy))
            .collect()
    }

    /// Waits (bounded) until the poller has seen `expected` healthy regions.
    async fn wait_for_healthy(&self, expected: &[&str]) {
        for _ in 0..500 {
            let (_, body) = self.get("/v1/placement/regions").await;
            let regions: RegionsResponse = serde_json::from_value(body).unwrap();
            let healthy: Vec<_> = regions
                .regions
                .iter()
                .filter(|r| r.healthy)
                .map(|r| r.name.as_str())
                .collect();
            if healthy == expected {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("regions never became healthy: {expected:?}");
    }
}

async fn read(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    let bytes = response.bytes().await.unwrap();
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap()
    };
    (status, body)
}

fn assert_error(answer: (StatusCode, Value), status: StatusCode, code: &str) {
    assert_eq!(answer.0, status, "{}", answer.1);
    assert_eq!(answer.1["error"]["code"], code, "{}", answer.1);
    assert!(
        answer.1["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty())
    );
}

fn placed(chat: &str, home: &str, epoch: u64) -> Value {
    serde_json::to_value(ChatPlacement {
        chat_id: chat.into(),
        home: home.into(),
        epoch,
    })
    .unwrap()
}

#[tokio::test]
async fn routes_by_health_and_distance() {
    let dir = tempfile::tempdir().unwrap();
    let service = Service::start(topology().await, &dir.path().join("state.json")).await;
    assert_eq!(
        service.get("/healthz").await,
        (StatusCode::OK, json!({"status": "ok"}))
    );
    service.wait_for_healthy(&["us-east", "ap-south"]).await;

    let (_, body) = service.get("/v1/placement/regions").await;
    let regions: RegionsResponse = serde_json::from_value(body).unwrap();
    let eu = &regions.regions[0];
    assert_eq!(
        (eu.name.as_str(), eu.healthy, eu.last_heartbeat_ms_ago),
        ("eu-west", false, None)
    );
    assert!(regions.regions[1].last_heartbeat_ms_ago.is_some());

    // Paris is nearest eu-west, but eu-west is down: it is listed last, flagged.
    let paris = "lat=48.86&lon=2.35";
    assert_eq!(
        service.route(paris).await,
        [
            ("us-east".into(), true),
            ("ap-south".into(), true),
            ("eu-west".into(), false)
        ]
    );
    assert_eq!(
        service.route("lat=19.08&lon=72.88").await[0],
        ("ap-south".into(), true)
    );
    assert_eq!(
        service.route("rtt=ap-south:20,us-east:90").await,
        [
            ("ap-south".into(), true),
            ("us-east".into(), true),
            ("eu-west".into(), false)
        ]
    );
    let (_, body) = service
        .get(&format!("/v1/placement/route?{paris}&rtt=us-east:80"))
        .await;
    assert_eq!(body["regions"][0]["rtt_ms"], 80);
    assert!(body["regions"][1]["distance_km"].as_f64().unwrap() > 5000.0);
    assert!(body["regions"][1].get("rtt_ms").is_none());

    // A pushed heartbeat brings eu-west back, and Paris goes there again.
    let push = |token, region| {
        service.send(
            reqwest::Method::POST,
            "/v1/placement/heartbeat",
            token,
            json!({ "region": region }),
        )
    };
    assert_error(
        push(None, "eu-west").await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    );
    assert_error(
        push(Some(TOKEN), "mars").await,
        StatusCode::BAD_REQUEST,
        "bad_request",
    );
    assert_eq!(push(Some(TOKEN), "eu-west").await.0, StatusCode::NO_CONTENT);
    assert_eq!(service.route(paris).await[0], ("eu-west".into(), true));

    service.stop().await;
}

#[tokio::test]
async fn rejects_bad_route_hints_with_bad_request() {
    let dir = tempfile::tempdir().unwrap();
    let service = Service::start(topology().await, &dir.path().join("state.json")).await;
    for query in [
        "lat=91&lon=0",
        "lat=abc&lon=0",
        "lat=10",
        "lon=10",
        "lat=0&lon=200",
        "rtt=eu-west",
        "rtt=eu-west:-3",
    ] {
        let answer = service.get(&format!("/v1/placement/route?{query}")).await;
        assert_error(answer, StatusCode::BAD_REQUEST, "bad_request");
    }
    assert_error(
        service.get("/v1/nothing-here").await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    service.stop().await;
}

#[tokio::test]
async fn the_directory_places_moves_and_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    let service = Service::start(topology().await, &state).await;

    assert_error(
        service.get("/v1/placement/chats/c_1").await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    assert_error(
        service.put_chat("c_1", None, "us-east").await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    );
    assert_error(
        service.put_chat("c_1", Some("guess"), "us-east").await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    );
    assert_error(
        service.put_chat("c_1", Some(TOKEN), "mars").await,
        StatusCode::BAD_REQUEST,
        "bad_request",
    );
    assert_error(
        service.get("/v1/placement/chats/c_1").await,
        StatusCode::NOT_FOUND,
        "not_found",
    );

    assert_eq!(
        service.put_chat("c_1", Some(TOKEN), "us-east").await,
        (StatusCode::OK, placed("c_1", "us-east", 1))
    );
    assert_eq!(
        service.get("/v1/placement/chats/c_1").await,
        (StatusCode::OK, placed("c_1", "us-east", 1))
    );
    assert_eq!(
        service.put_chat("c_1", Some(TOKEN), "ap-south").await,
        (StatusCode::OK, placed("c_1", "ap-south", 2))
    );
    // Retrying the same move does not bump the epoch again.
    assert_eq!(
        service.put_chat("c_1", Some(TOKEN), "ap-south").await,
        (StatusCode::OK, placed("c_1", "ap-south", 2))
    );
    assert_eq!(
        service.get("/v1/placement/chats/c_1").await,
        (StatusCode::OK, placed("c_1", "ap-south", 2))
    );

    // Bad bodies and ids are refused and change nothing.
    let put = |body: Value| {
        service.send(
            reqwest::Method::PUT,
            "/v1/placement/chats/c_1",
            Some(TOKEN),
            body,
        )
    };
    assert_error(
        put(json!({"home": 5})).await,
        StatusCode::BAD_REQUEST,
        "bad_request",
    );
    assert_error(
        put(json!({"region": "eu-west"})).await,
        StatusCode::BAD_REQUEST,
        "bad_request",
    );
    let raw = service
        .http
        .put(format!("{}/v1/placement/chats/c_1", service.base))
        .bearer_auth(TOKEN)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_error(read(raw).await, StatusCode::BAD_REQUEST, "bad_request");
    assert_error(
        service.put_chat("bad%20id", Some(TOKEN), "eu-west").await,
        StatusCode::BAD_REQUEST,
        "bad_request",
    );
    assert_eq!(
        service.get("/v1/placement/chats/c_1").await.1,
        placed("c_1", "ap-south", 2)
    );

    // A region node creating a chat: its own region unless it names one; a
    // second create is harmless.
    let create = |body: Value| {
        service.send(
            reqwest::Method::POST,
            "/v1/placement/chats",
            Some(TOKEN),
            body,
        )
    };
    assert_eq!(
        create(json!({"chat_id": "c_2", "region": "eu-west"})).await,
        (StatusCode::CREATED, placed("c_2", "eu-west", 1))
    );
    assert_eq!(
        create(json!({"chat_id": "c_2", "region": "us-east", "home": "us-east"})).await,
        (StatusCode::OK, placed("c_2", "eu-west", 1))
    );
    assert_eq!(
        create(json!({"chat_id": "c_3", "region": "eu-west", "home": "ap-south"})).await,
        (StatusCode::CREATED, placed("c_3", "ap-south", 1))
    );

    // Another copy's delta with a newer epoch wins; an older one does not.
    let (status, delta) = service.get("/v1/placement/directory?since=0").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(delta["chats"].as_object().unwrap().len(), 3);
    let merge = |body: Value| {
        service.send(
            reqwest::Method::POST,
            "/v1/placement/directory",
            Some(TOKEN),
            body,
        )
    };
    let remote = json!({"version": 9, "chats": {
        "c_1": {"epoch": 5, "home": "eu-west"},
        "c_2": {"epoch": 1, "home": "ap-south"},
    }});
    let (status, merged) = merge(remote).await;
    assert_eq!(
        (status, merged["changed"].as_u64()),
        (StatusCode::OK, Some(1))
    );
    assert_eq!(
        service.get("/v1/placement/chats/c_1").await.1,
        placed("c_1", "eu-west", 5)
    );
    assert_eq!(
        service.get("/v1/placement/chats/c_2").await.1,
        placed("c_2", "eu-west", 1)
    );
    let since = delta["version"].as_u64().unwrap();
    let (_, newer) = service
        .get(&format!("/v1/placement/directory?since={since}"))
        .await;
    assert_eq!(
        newer["chats"],
        json!({"c_1": {"epoch": 5, "home": "eu-west"}})
    );
    let bad = json!({"version": 1, "chats": {"bad id": {"epoch": 9, "home": "eu-west"}, "c_3": {"epoch": 9, "home": "eu-west"}}});
    assert_error(merge(bad).await, StatusCode::BAD_REQUEST, "bad_request");
    assert_eq!(
        service.get("/v1/placement/chats/c_3").await.1,
        placed("c_3", "ap-south", 1)
    );

    service.stop().await;
    let service = Service::start(topology().await, &state).await;
    assert_eq!(
        service.get("/v1/placement/chats/c_1").await.1,
        placed("c_1", "eu-west", 5)
    );
    assert_eq!(
        service.get("/v1/placement/chats/c_3").await.1,
        placed("c_3", "ap-south", 1)
    );
    service.stop().await;
}

#[tokio::test]
async fn a_region_that_starts_draining_turns_unhealthy_at_once() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    let ready = Arc::new(AtomicBool::new(true));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let flag = ready.clone();
    let app = Router::new().route(
        "/readyz",
        get(move || async move {
            if flag.load(Ordering::Relaxed) {
                StatusCode::OK
            } else {
                StatusCode::SERVICE_UNAVAILABLE
            }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let topology = Topology::from_yaml(&format!(
        "
regions:
  - {{ name: solo, location: {{ lat: 0, lon: 0 }}, http: '{addr}', quic: '127.0.0.1:1' }}
settings:
  heartbeat_interval_ms: 50
  health_timeout_ms: 600000
"
    ))
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let service = Service::start(topology, &dir.path().join("state.json")).await;
    service.wait_for_healthy(&["solo"]).await;
    // The 10-minute timeout has not passed, yet the 503 takes it out of rotation.
    ready.store(false, Ordering::Relaxed);
    service.wait_for_healthy(&[]).await;
    ready.store(true, Ordering::Relaxed);
    service.wait_for_healthy(&["solo"]).await;
    service.stop().await;
}
