//! HTTPS and WSS on the client edge, with the real binary: `region-node
//! dev-cert` makes a CA and a certificate, the node serves them, and the SDK
//! verifies them — trusting the CA when told to, refusing the server
//! otherwise.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use client::ws::{ConnectOptions, Connection};
use client::{Client, Tls};
use common::{free_port, spawn_binary, terminate};

fn dev_cert(out: &Path) {
    let status = Command::new(env!("CARGO_BIN_EXE_region-node"))
        .args(["dev-cert", "--out", out.to_str().unwrap()])
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
}

async fn wait_healthy(http: &reqwest::Client, base: &str) -> reqwest::Response {
    for _ in 0..200 {
        if let Ok(answer) = http.get(format!("{base}/healthz")).send().await
            && answer.status().is_success()
        {
            return answer;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("node at {base} never became healthy over https");
}

#[tokio::test]
async fn https_and_wss_serve_a_verified_certificate_and_refuse_plain_http() {
    let dir = tempfile::tempdir().unwrap();
    let certs = dir.path().join("certs");
    dev_cert(&certs);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(certs.join("key.pem"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "the private key is the owner's alone");
    }
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let data = dir.path().join("data");
    let mut node = spawn_binary(
        &[
            "--listen",
            &listen,
            "--data",
            data.to_str().unwrap(),
            "--tls-cert",
            certs.join("cert.pem").to_str().unwrap(),
            "--tls-key",
            certs.join("key.pem").to_str().unwrap(),
        ],
        &[],
        dir.path(),
    );
    let base = format!("https://localhost:{port}");
    let tls = Tls::with_ca_file(&certs.join("ca.pem")).unwrap();

    let health = wait_healthy(&tls.http_client(), &base).await;
    assert_eq!(
        health.headers()["strict-transport-security"],
        "max-age=31536000",
        "HTTPS answers carry HSTS"
    );

    // The SDK over HTTPS, trusting the development CA.
    let client = Client::with_tls(&base, &tls).unwrap();
    client.register("tess", "tls password", None).await.unwrap();
    let tokens = client.login("tess", "tls password", None).await.unwrap();
    let me = client.with_token(&tokens.access_token).me().await.unwrap();
    assert_eq!(me.username, "tess");

    // And over WSS.
    let options = ConnectOptions {
        tls: tls.clone(),
        ..ConnectOptions::default()
    };
    let connection = Connection::connect_with(&base, &tokens.access_token, options)
        .await
        .unwrap();
    assert_eq!(connection.ready().user_id, tokens.user_id);

    // Without the CA the certificate is not trusted: nothing is sent.
    let untrusting = Client::new(&base).unwrap();
    let refused = untrusting.login("tess", "tls password", None).await;
    assert!(refused.is_err(), "an unknown CA is refused over HTTPS");
    let refused =
        Connection::connect_with(&base, &tokens.access_token, ConnectOptions::default()).await;
    assert!(refused.is_err(), "an unknown CA is refused over WSS");

    // The certificate names localhost and 127.0.0.1, not other names.
    let wrong_name = Client::with_tls(&format!("https://127.0.0.2:{port}"), &tls).unwrap();
    assert!(
        wrong_name
            .login("tess", "tls password", None)
            .await
            .is_err()
    );

    // Plain HTTP on the TLS port gets no HTTP answer.
    let plain = reqwest::Client::new()
        .get(format!("http://127.0.0.1:{port}/healthz"))
        .timeout(Duration::from_secs(5))
        .send()
        .await;
    assert!(
        plain.is_err() || !plain.unwrap().status().is_success(),
        "the TLS port does not serve plain HTTP"
    );

    assert!(terminate(&mut node).success(), "clean exit on SIGTERM");
}

#[tokio::test]
async fn a_certificate_without_its_key_or_a_mismatched_key_stops_the_node() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    dev_cert(&a);
    dev_cert(&b);
    let data = dir.path().join("data");
    let run = |args: &[&str]| {
        let mut all = vec!["--listen", "127.0.0.1:0", "--data", data.to_str().unwrap()];
        all.extend_from_slice(args);
        let mut child = spawn_binary(&all, &[], dir.path());
        for _ in 0..400 {
            if let Some(status) = child.try_wait().unwrap() {
                return status;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        child.kill().unwrap();
        panic!("the node started with {args:?}");
    };
    let cert = a.join("cert.pem");
    let status = run(&["--tls-cert", cert.to_str().unwrap()]);
    assert!(!status.success(), "a certificate without a key is refused");
    let other_key = b.join("key.pem");
    let status = run(&[
        "--tls-cert",
        cert.to_str().unwrap(),
        "--tls-key",
        other_key.to_str().unwrap(),
    ]);
    assert!(!status.success(), "a key of another certificate is refused");
}
