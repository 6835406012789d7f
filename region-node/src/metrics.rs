//! The node's Prometheus metrics: one registry of the gauges and counters an
//! operator watches (replication lag and peer health per peer region,
//! forwarded sends, the unsequenced backlog, connections and traffic), and
//! the `GET /metrics` endpoint that serves them in the OpenMetrics text
//! format.
//!
//! [`Metrics`] is a cheap handle (one `Arc`): services keep a clone and
//! record as things happen; the endpoint encodes whatever was recorded last.
//! Peer labels are region names from the topology, so their number is
//! bounded by the mesh; every other label takes a fixed set of values.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

/// The content type of the OpenMetrics text exposition.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// How a send forwarded to its chat's home region ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ForwardOutcome {
    /// The home region sequenced it.
    Sequenced,
    /// The home region refused it (not a member, invalid, rate limited...).
    Rejected,
}

impl ForwardOutcome {
    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sequenced => "sequenced",
            Self::Rejected => "rejected",
        }
    }
}

impl EncodeLabelValue for ForwardOutcome {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
        self.as_str().encode(encoder)
    }
}

/// Why a connection with a peer region was refused, as a short label; the
/// full reason belongs in the log, where its cardinality does not matter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RefusalReason {
    /// The peer's clock was further from ours than the mesh allows.
    ClockOffset,
    /// The TLS handshake or the certificate check failed.
    Tls,
    /// Anything else (wrong region, dial direction, protocol error).
    Other,
}

impl RefusalReason {
    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ClockOffset => "clock_offset",
            Self::Tls => "tls",
            Self::Other => "other",
        }
    }

    /// Sorts a free-text refusal reason (as the transport reports it) into a
    /// label: TLS and certificate failures, clock-offset refusals, the rest.
    pub fn classify(reason: &str) -> Self {
        let reason = reason.to_ascii_lowercase();
        if reason.contains("tls") || reason.contains("certificate") {
            Self::Tls
        } else if reason.contains("clock") || reason.contains("offset") {
            Self::ClockOffset
        } else {
            Self::Other
        }
    }
}

impl EncodeLabelValue for RefusalReason {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
        self.as_str().encode(encoder)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct PeerLabels {
    peer: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct ForwardLabels {
    peer: String,
    outcome: ForwardOutcome,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct RefusalLabels {
    peer: String,
    reason: RefusalReason,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct HttpLabels {
    method: &'static str,
    status: u16,
}

fn peer(peer: &str) -> PeerLabels {
    PeerLabels {
        peer: peer.to_owned(),
    }
}

/// A cheap-to-clone handle on the node's metrics registry.
#[derive(Clone)]
pub struct Metrics(Arc<Inner>);

struct Inner {
    registry: Registry,
    lag_events: Family<PeerLabels, Gauge>,
    lag_ms: Family<PeerLabels, Gauge>,
    applied: Family<PeerLabels, Counter>,
    forwarded: Family<ForwardLabels, Counter>,
    accepted_unsequenced: Gauge,
    clock_offset_ms: Family<PeerLabels, Gauge>,
    refusals: Family<RefusalLabels, Counter>,
    peer_up: Family<PeerLabels, Gauge>,
    ws_connections: Gauge,
    messages_sent: Counter,
    http_requests: Family<HttpLabels, Counter>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A registry with every metric registered and nothing recorded.
    pub fn new() -> Self {
        let lag_events = Family::<PeerLabels, Gauge>::default();
        let lag_ms = Family::<PeerLabels, Gauge>::default();
        let applied = Family::<PeerLabels, Counter>::default();
        let forwarded = Family::<ForwardLabels, Counter>::default();
        let accepted_unsequenced = Gauge::default();
        let clock_offset_ms = Family::<PeerLabels, Gauge>::default();
        let refusals = Family::<RefusalLabels, Counter>::default();
        let peer_up = Family::<PeerLabels, Gauge>::default();
        let ws_connections = Gauge::default();
        let messages_sent = Counter::default();
        let http_requests = Family::<HttpLabels, Counter>::default();

        let mut registry = Registry::with_prefix("chatmesh");
        registry.register(
            "replication_lag_events",
            "Committed events not yet acknowledged by the peer region",
            lag_events.clone(),
        );
        registry.register(
            "replication_lag_ms",
            "Age in ms of the oldest event not yet acknowledged by the peer region",
            lag_ms.clone(),
        );
        registry.register(
            "replication_applied_events",
            "Events of the peer region's logs applied to this region's replicas",
            applied.clone(),
        );
        registry.register(
            "forwarded_sends",
            "Sends forwarded to the chat's home region, by how they ended",
            forwarded.clone(),
        );
        registry.register(
            "accepted_unsequenced",
            "Sends acknowledged as accepted and not yet sequenced by their home region",
            accepted_unsequenced.clone(),
        );
        registry.register(
            "clock_offset_ms",
            "The peer region's clock minus ours in ms, as last measured",
            clock_offset_ms.clone(),
        );
        registry.register(
            "peer_refusals",
            "Connections with the peer region refused, by either side",
            refusals.clone(),
        );
        registry.register(
            "peer_up",
            "1 while a connection with the peer region is admitted, else 0",
            peer_up.clone(),
        );
        registry.register(
            "ws_connections",
            "Open WebSocket sessions",
            ws_connections.clone(),
        );
        registry.register(
            "messages_sent",
            "Messages accepted from this region's clients",
            messages_sent.clone(),
        );
        registry.register(
            "http_requests",
            "HTTP requests answered, by method and status",
            http_requests.clone(),
        );
        Self(Arc::new(Inner {
            registry,
            lag_events,
            lag_ms,
            applied,
            forwarded,
            accepted_unsequenced,
            clock_offset_ms,
            refusals,
            peer_up,
            ws_connections,
            messages_sent,
            http_requests,
        }))
    }

    /// Replication lag towards `peer`: events it has not acknowledged yet,
    /// and the age in ms of the oldest of them.
    pub fn set_lag(&self, peer_name: &str, events: u64, ms: u64) {
        let labels = peer(peer_name);
        self.0
            .lag_events
            .get_or_create(&labels)
            .set(saturate(events));
        self.0.lag_ms.get_or_create(&labels).set(saturate(ms));
    }

    /// `events` entries of `peer`'s logs were applied here.
    pub fn applied(&self, peer_name: &str, events: usize) {
        self.0
            .applied
            .get_or_create(&peer(peer_name))
            .inc_by(events as u64);
    }

    /// One send forwarded to `peer` (the chat's home) ended with `outcome`.
    pub fn forwarded(&self, peer_name: &str, outcome: ForwardOutcome) {
        let labels = ForwardLabels {
            peer: peer_name.to_owned(),
            outcome,
        };
        self.0.forwarded.get_or_create(&labels).inc();
    }

    /// Sends acknowledged `accepted` that still wait for their home region.
    pub fn set_accepted_unsequenced(&self, count: u64) {
        self.0.accepted_unsequenced.set(saturate(count));
    }

    /// `peer`'s clock minus ours, in ms (negative when it is behind).
    pub fn set_clock_offset(&self, peer_name: &str, ms: i64) {
        self.0
            .clock_offset_ms
            .get_or_create(&peer(peer_name))
            .set(ms);
    }

    /// A connection with `peer` was refused for `reason`.
    pub fn refused(&self, peer_name: &str, reason: RefusalReason) {
        let labels = RefusalLabels {
            peer: peer_name.to_owned(),
            reason,
        };
        self.0.refusals.get_or_create(&labels).inc();
    }

    /// Whether a connection with `peer` is admitted right now.
    pub fn set_peer_up(&self, peer_name: &str, up: bool) {
        self.0
            .peer_up
            .get_or_create(&peer(peer_name))
            .set(i64::from(up));
    }

    /// A WebSocket session opened.
    pub fn ws_connected(&self) {
        self.0.ws_connections.inc();
    }

    /// A WebSocket session closed.
    pub fn ws_disconnected(&self) {
        self.0.ws_connections.dec();
    }

    /// A client's message was accepted (sequenced here, forwarded or held).
    pub fn message_sent(&self) {
        self.0.messages_sent.inc();
    }

    /// An HTTP request was answered with `status`.
    pub fn http_request(&self, method: &Method, status: u16) {
        let labels = HttpLabels {
            method: method_label(method),
            status,
        };
        self.0.http_requests.get_or_create(&labels).inc();
    }

    /// Everything recorded so far, in the OpenMetrics text format.
    pub fn encode(&self) -> String {
        let mut text = String::new();
        // Writing into a String cannot fail; an error here would mean a
        // label value broke the encoder, which the types above rule out.
        if let Err(error) = prometheus_client::encoding::text::encode(&mut text, &self.0.registry) {
            tracing::error!(%error, "encode metrics");
        }
        text
    }
}

/// Gauges hold i64; counts this large do not occur, but must not wrap.
fn saturate(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// Standard methods by name; anything else shares one label so a client
/// cannot grow the registry by inventing methods.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// `GET /metrics`: the registry as OpenMetrics text.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "health",
    responses((status = 200, description = "Prometheus metrics in the OpenMetrics text format", content_type = "application/openmetrics-text", body = String)),
)]
pub async fn metrics_handler(State(metrics): State<Metrics>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE))],
        metrics.encode(),
    )
}

/// A router serving `GET /metrics`, to merge into the node's router.
pub fn router(metrics: Metrics) -> Router {
    Router::new()
        .route("/metrics", get(metrics_handler))
        .with_state(metrics)
}

/// Middleware counting every answered request by method and status; add it
/// with `axum::middleware::from_fn_with_state(metrics, metrics::track_http)`.
pub async fn track_http(State(metrics): State<Metrics>, request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let response = next.run(request).await;
    metrics.http_request(&method, response.status().as_u16());
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn has_line(text: &str, line: &str) -> bool {
        text.lines().any(|l| l == line)
    }

    #[test]
    fn peer_metrics_appear_with_their_labels() {
        let metrics = Metrics::new();
        metrics.set_lag("us-east", 12, 340);
        metrics.set_clock_offset("us-east", -42);
        metrics.set_peer_up("us-east", true);
        metrics.set_peer_up("ap-south", false);
        metrics.refused("ap-south", RefusalReason::ClockOffset);
        metrics.refused("ap-south", RefusalReason::ClockOffset);
        let text = metrics.encode();
        for line in [
            "chatmesh_replication_lag_events{peer=\"us-east\"} 12",
            "chatmesh_replication_lag_ms{peer=\"us-east\"} 340",
            "chatmesh_clock_offset_ms{peer=\"us-east\"} -42",
            "chatmesh_peer_up{peer=\"us-east\"} 1",
            "chatmesh_peer_up{peer=\"ap-south\"} 0",
            "chatmesh_peer_refusals_total{peer=\"ap-south\",reason=\"clock_offset\"} 2",
        ] {
            assert!(has_line(&text, line), "missing {line:?} in\n{text}");
        }
        assert!(text.ends_with("# EOF\n"));
    }

    #[test]
    fn a_later_lag_replaces_the_earlier_one() {
        let metrics = Metrics::new();
        metrics.set_lag("eu-west", 500, 9000);
        metrics.set_lag("eu-west", 0, 0);
        let text = metrics.encode();
        assert!(has_line(
            &text,
            "chatmesh_replication_lag_events{peer=\"eu-west\"} 0"
        ));
        assert!(!text.contains("} 500"), "{text}");
    }

    #[test]
    fn node_counters_and_gauges_count() {
        let metrics = Metrics::new();
        metrics.forwarded("eu-west", ForwardOutcome::Sequenced);
        metrics.forwarded("eu-west", ForwardOutcome::Sequenced);
        metrics.forwarded("eu-west", ForwardOutcome::Rejected);
        metrics.set_accepted_unsequenced(7);
        metrics.ws_connected();
        metrics.ws_connected();
        metrics.ws_disconnected();
        for _ in 0..3 {
            metrics.message_sent();
        }
        metrics.http_request(&Method::GET, 200);
        metrics.http_request(&Method::from_bytes(b"BREW").unwrap(), 400);
        let text = metrics.encode();
        for line in [
            "chatmesh_forwarded_sends_total{peer=\"eu-west\",outcome=\"sequenced\"} 2",
            "chatmesh_forwarded_sends_total{peer=\"eu-west\",outcome=\"rejected\"} 1",
            "chatmesh_accepted_unsequenced 7",
            "chatmesh_ws_connections 1",
            "chatmesh_messages_sent_total 3",
            "chatmesh_http_requests_total{method=\"GET\",status=\"200\"} 1",
            "chatmesh_http_requests_total{method=\"other\",status=\"400\"} 1",
        ] {
            assert!(has_line(&text, line), "missing {line:?} in\n{text}");
        }
    }

    #[test]
    fn clones_share_one_registry() {
        let metrics = Metrics::new();
        metrics.clone().message_sent();
        assert!(has_line(
            &metrics.encode(),
            "chatmesh_messages_sent_total 1"
        ));
    }

    #[test]
    fn refusal_reasons_are_sorted_into_short_labels() {
        assert_eq!(
            RefusalReason::classify("TLS failed: handshake"),
            RefusalReason::Tls
        );
        assert_eq!(
            RefusalReason::classify("certificate names eu-west, not us-east"),
            RefusalReason::Tls
        );
        assert_eq!(
            RefusalReason::classify("clock 900 ms ahead of ours"),
            RefusalReason::ClockOffset
        );
        assert_eq!(
            RefusalReason::classify("us-east must wait for eu-west to dial"),
            RefusalReason::Other
        );
    }

    #[tokio::test]
    async fn the_endpoint_serves_openmetrics_text() {
        use tower::ServiceExt as _;

        let metrics = Metrics::new();
        metrics.message_sent();
        let response = router(metrics)
            .oneshot(
                Request::builder()
                    .uri("/metrics")
                    .body(axum::body::Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()[header::CONTENT_TYPE], CONTENT_TYPE);
        let body = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        let text = String::from_utf8(body.to_vec()).unwrap();
        assert!(has_line(&text, "chatmesh_messages_sent_total 1"), "{text}");
    }

    #[tokio::test]
    async fn the_middleware_counts_answered_requests() {
        use tower::ServiceExt as _;

        let metrics = Metrics::new();
        let app = Router::new().route("/ok", get(|| async { "ok" })).layer(
            axum::middleware::from_fn_with_state(metrics.clone(), track_http),
        );
        for uri in ["/ok", "/ok", "/missing"] {
            let request = Request::builder()
                .uri(uri)
                .body(axum::body::Body::empty())
                .unwrap();
            app.clone().oneshot(request).await.unwrap();
        }
        let text = metrics.encode();
        assert!(has_line(
            &text,
            "chatmesh_http_requests_total{method=\"GET\",status=\"200\"} 2"
        ));
        assert!(has_line(
            &text,
            "chatmesh_http_requests_total{method=\"GET\",status=\"404\"} 1"
        ));
    }
}
