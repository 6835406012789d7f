//! The data directory is private to the node's user: the directory 0700
//! and every file in it 0600 (the store holds the token signing key),
//! tightened at start when an older version left them looser.

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;

use super::common::{free_port, spawn_binary, terminate, wait_healthy};

/// Every (path, mode) under `dir`, `dir` included.
fn modes(dir: &Path) -> Vec<(String, u32)> {
    let mut out = vec![(
        dir.display().to_string(),
        std::fs::metadata(dir).unwrap().permissions().mode() & 0o777,
    )];
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(modes(&path));
        } else {
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            out.push((path.display().to_string(), mode));
        }
    }
    out
}

fn assert_private(dir: &Path) {
    let all = modes(dir);
    assert!(all.len() > 1, "the store wrote files: {all:?}");
    for (path, mode) in all {
        let want = if Path::new(&path).is_dir() {
            0o700
        } else {
            0o600
        };
        assert_eq!(mode, want, "{path} has mode {mode:o}");
    }
}

fn loosen(dir: &Path) {
    for (path, _) in modes(dir) {
        let mode = if Path::new(&path).is_dir() {
            0o755
        } else {
            0o644
        };
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
    }
}

#[tokio::test]
async fn the_data_directory_and_its_files_are_private() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
    let listen = format!("127.0.0.1:{}", free_port());
    let base = format!("http://{listen}");
    let args = ["--listen", &listen, "--data", data.to_str().unwrap()];

    let mut child = spawn_binary(&args, &[], dir.path());
    wait_healthy(&base).await;
    let client = client::Client::new(&base).unwrap();
    client
        .register("mode", "file mode password", None)
        .await
        .unwrap();
    client
        .login("mode", "file mode password", None)
        .await
        .unwrap();
    assert!(terminate(&mut child).success());
    assert_private(&data);

    // Files an older version left readable are tightened at start.
    loosen(&data);
    let mut child = spawn_binary(&args, &[], dir.path());
    wait_healthy(&base).await;
    client
        .login("mode", "file mode password", None)
        .await
        .unwrap();
    assert_private(&data);
    assert!(terminate(&mut child).success());
    assert_private(&data);
}

#[tokio::test]
async fn rotating_the_signing_key_logs_nobody_out() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let listen = format!("127.0.0.1:{}", free_port());
    let base = format!("http://{listen}");
    let args = ["--listen", &listen, "--data", data.to_str().unwrap()];
    let mut child = spawn_binary(&args, &[], dir.path());
    wait_healthy(&base).await;
    let client = client::Client::new(&base).unwrap();
    client
        .register("rota", "rotation password", None)
        .await
        .unwrap();
    let tokens = client
        .login("rota", "rotation password", None)
        .await
        .unwrap();
    assert!(terminate(&mut child).success());

    let rotated = std::process::Command::new(env!("CARGO_BIN_EXE_region-node"))
        .args(["--data", data.to_str().unwrap(), "rotate-token-key"])
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    assert!(rotated.status.success(), "{rotated:?}");

    let mut child = spawn_binary(&args, &[], dir.path());
    wait_healthy(&base).await;
    let old = client
        .with_token(&tokens.access_token)
        .me()
        .await
        .unwrap_err();
    assert_eq!(old.status(), Some(401), "{old}");
    let fresh = client.refresh(&tokens.refresh_token).await.unwrap();
    let me = client.with_token(&fresh.access_token).me().await.unwrap();
    assert_eq!(me.username, "rota");
    assert!(terminate(&mut child).success());
}
