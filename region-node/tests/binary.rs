//! The real `region-node` binary: flags, environment, config file, SIGTERM.

#![allow(clippy::unwrap_used)]

mod common;

use common::{free_port, spawn_binary, terminate, wait_healthy};

async fn register_login_me(base: &str) {
    let client = client::Client::new(base).unwrap();
    client
        .register("lena", "binary password", None)
        .await
        .unwrap();
    let tokens = client.login("lena", "binary password", None).await.unwrap();
    let me = client.with_token(&tokens.access_token).me().await.unwrap();
    assert_eq!(me.username, "lena");
}

#[tokio::test]
async fn flags_choose_address_and_data_and_sigterm_drains() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("region-data");
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let mut child = spawn_binary(
        &["--listen", &listen, "--data", data.to_str().unwrap()],
        &[],
        dir.path(),
    );
    let base = format!("http://{listen}");
    wait_healthy(&base).await;
    register_login_me(&base).await;
    let status = terminate(&mut child);
    assert!(status.success(), "clean exit on SIGTERM: {status}");
    assert!(data.is_dir(), "the store lives where --data says");

    // Same data directory, new process: the account is still there.
    let mut child = spawn_binary(
        &["--listen", &listen, "--data", data.to_str().unwrap()],
        &[],
        dir.path(),
    );
    wait_healthy(&base).await;
    let client = client::Client::new(&base).unwrap();
    client.login("lena", "binary password", None).await.unwrap();
    assert!(terminate(&mut child).success());
}

#[tokio::test]
async fn environment_and_config_file_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let config = dir.path().join("node.toml");
    std::fs::write(
        &config,
        format!("region = \"test-region\"\nlisten = \"127.0.0.1:{port}\"\n[auth]\nargon2_memory_kib = 64\nargon2_iterations = 1\n"),
    )
    .unwrap();
    let data = dir.path().join("env-data");
    let mut child = spawn_binary(
        &[],
        &[
            ("CHATMESH_CONFIG", config.to_str().unwrap()),
            ("CHATMESH_DATA", data.to_str().unwrap()),
        ],
        dir.path(),
    );
    let base = format!("http://127.0.0.1:{port}");
    wait_healthy(&base).await;
    let health: serde_json::Value = reqwest::get(format!("{base}/healthz"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["region"], "test-region");
    let ready = reqwest::get(format!("{base}/readyz")).await.unwrap();
    assert_eq!(ready.status(), 200);
    register_login_me(&base).await;
    assert!(terminate(&mut child).success());
    assert!(data.is_dir());
}

#[test]
fn invalid_configuration_fails_fast_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_region-node"))
        .args(["--listen", "not-an-address"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("invalid listen"), "{stderr}");
}

#[test]
fn sabotage_refuses_to_start_without_the_test_only_setting() {
    let dir = tempfile::tempdir().unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_region-node"))
        .args(["--sabotage", "drop-acked", "--data"])
        .arg(dir.path().join("data"))
        .env_remove("CHATMESH_SABOTAGE_ALLOWED")
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("CHATMESH_SABOTAGE_ALLOWED=yes"), "{stderr}");
    assert!(!dir.path().join("data").exists(), "nothing was created");
}

/// `PUT /v1/test/clock-skew` on `base`; answers the status.
async fn put_skew(base: &str, body: serde_json::Value) -> u16 {
    reqwest::Client::new()
        .put(format!("{base}/v1/test/clock-skew"))
        .json(&body)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// The HLC milliseconds the node's `ready` frame carries.
async fn node_hlc_millis(base: &str) -> u64 {
    let client = client::Client::new(base).unwrap();
    let name = format!("u{}", free_port());
    let (_, token) = common::ws::user(&client, &name).await;
    let ws = common::ws::Ws::connect(base, &token).await;
    let hlc = ws.ready["hlc"].as_str().unwrap();
    u64::from_str_radix(hlc, 16).unwrap() >> 16
}

#[tokio::test]
async fn the_test_admin_endpoint_skews_the_clock_only_when_enabled() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let listen = format!("127.0.0.1:{port}");
    let data = dir.path().join("plain");
    let mut child = spawn_binary(
        &["--listen", &listen, "--data", data.to_str().unwrap()],
        &[],
        dir.path(),
    );
    wait_healthy(&base).await;
    assert_eq!(
        put_skew(&base, serde_json::json!({"skew_ms": 5000})).await,
        404
    );
    assert!(terminate(&mut child).success());

    let data = dir.path().join("admin");
    let mut child = spawn_binary(
        &[
            "--listen",
            &listen,
            "--data",
            data.to_str().unwrap(),
            "--test-admin",
        ],
        &[],
        dir.path(),
    );
    wait_healthy(&base).await;
    let before = node_hlc_millis(&base).await;
    assert_eq!(put_skew(&base, serde_json::json!({"skew": 1})).await, 400);
    assert_eq!(
        put_skew(&base, serde_json::json!({"skew_ms": 7_200_000})).await,
        400
    );
    assert_eq!(
        put_skew(&base, serde_json::json!({"skew_ms": 60_000})).await,
        204
    );
    let after = node_hlc_millis(&base).await;
    assert!(after >= before + 59_000, "{before} -> {after}");
    assert!(terminate(&mut child).success());
}
