//! `region-node mesh`: the real binary starts every region of a topology as
//! child processes, and a SIGTERM to it stops them all.
//!
//! The children run `region-node --regions FILE --region NAME`, so these
//! tests need a node that understands `--regions`.

#![allow(clippy::unwrap_used)]

mod common;

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, ExitStatus};
use std::time::Duration;

use common::{free_port, spawn_binary, terminate};

/// A free loopback UDP port for a region's QUIC endpoint.
fn free_udp_port() -> u16 {
    std::net::UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .map(|a| a.port())
        .unwrap()
}

/// Two regions on fresh loopback ports; answers their HTTP addresses.
fn write_topology(path: &Path) -> [SocketAddr; 2] {
    let http: [SocketAddr; 2] = [
        format!("127.0.0.1:{}", free_port()).parse().unwrap(),
        format!("127.0.0.1:{}", free_port()).parse().unwrap(),
    ];
    let yaml = format!(
        "regions:
  - {{ name: eu-west, location: {{ lat: 53.3, lon: -6.3 }}, http: '{}', quic: '127.0.0.1:{}' }}
  - {{ name: us-east, location: {{ lat: 39.0, lon: -77.5 }}, http: '{}', quic: '127.0.0.1:{}' }}
",
        http[0],
        free_udp_port(),
        http[1],
        free_udp_port()
    );
    std::fs::write(path, yaml).unwrap();
    http
}

async fn healthz(addr: SocketAddr) -> Option<u16> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    let response = client
        .get(format!("http://{addr}/healthz"))
        .send()
        .await
        .ok()?;
    Some(response.status().as_u16())
}

/// Polls `/healthz` until it answers 200, failing early if the launcher exits.
async fn wait_serving(addr: SocketAddr, launcher: &mut Child) {
    for _ in 0..600 {
        if healthz(addr).await == Some(200) {
            return;
        }
        if let Some(status) = launcher.try_wait().unwrap() {
            panic!("the launcher exited ({status}) before {addr} served");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("region at {addr} never became healthy");
}

/// Waits for the launcher to exit by itself.
async fn wait_exit(launcher: &mut Child) -> ExitStatus {
    for _ in 0..600 {
        if let Some(status) = launcher.try_wait().unwrap() {
            return status;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    launcher.kill().unwrap();
    panic!("the launcher did not exit by itself");
}

#[tokio::test]
async fn mesh_starts_every_region_and_sigterm_stops_them_all() {
    let dir = tempfile::tempdir().unwrap();
    let regions = dir.path().join("regions.yaml");
    let http = write_topology(&regions);
    let data = dir.path().join("data");
    let mut launcher = spawn_binary(
        &[
            "mesh",
            "--regions",
            regions.to_str().unwrap(),
            "--data",
            data.to_str().unwrap(),
            "--latency",
            "50ms",
            "--seed",
            "7",
        ],
        &[],
        dir.path(),
    );
    for addr in http {
        wait_serving(addr, &mut launcher).await;
    }
    assert!(data.join("eu-west").is_dir(), "each region under --data");
    assert!(data.join("us-east").is_dir(), "each region under --data");

    let status = terminate(&mut launcher);
    assert!(status.success(), "clean exit on SIGTERM: {status}");
    // The launcher exits only after its regions have; none is left serving.
    for addr in http {
        assert_eq!(healthz(addr).await, None, "{addr} still answers");
    }
}

#[tokio::test]
async fn a_region_that_dies_stops_the_mesh() {
    let dir = tempfile::tempdir().unwrap();
    let regions = dir.path().join("regions.yaml");
    let http = write_topology(&regions);
    // us-east cannot bind its HTTP address, so it exits at start-up.
    let _taken = std::net::TcpListener::bind(http[1]).unwrap();
    let mut launcher = spawn_binary(
        &[
            "mesh",
            "--regions",
            regions.to_str().unwrap(),
            "--data",
            dir.path().join("data").to_str().unwrap(),
        ],
        &[],
        dir.path(),
    );
    let status = wait_exit(&mut launcher).await;
    assert!(!status.success(), "a dead region is an error: {status}");
    assert_eq!(healthz(http[0]).await, None, "eu-west was stopped too");
}
