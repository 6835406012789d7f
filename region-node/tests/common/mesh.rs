//! A mesh of real `region-node` processes on loopback for end-to-end tests,
//! with a fault-injecting UDP proxy on every inter-region link so a test can
//! cut and heal links, and with processes it can SIGKILL and restart.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Child;

use mesh_testkit::proxy::{Direction, LinkProxy};

use super::spawn_binary;

/// One region's process.
pub struct Region {
    /// Its name.
    pub name: String,
    /// Its HTTP base URL.
    pub base: String,
    data: PathBuf,
    envs: Vec<(String, String)>,
    child: Option<Child>,
}

/// A running mesh.
pub struct Cluster {
    /// The regions, in the order given.
    pub regions: Vec<Region>,
    /// The proxy of each link, keyed by (dialer, acceptor).
    proxies: BTreeMap<(String, String), LinkProxy>,
    yaml: PathBuf,
    config: PathBuf,
    _dir: tempfile::TempDir,
}

fn free_udp_port() -> u16 {
    std::net::UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .map(|a| a.port())
        .expect("free udp port")
}

impl Cluster {
    /// Starts `names` as regions of one mesh; `skew` runs some regions'
    /// clocks ahead (ms); peers further ahead than `max_offset_ms` are refused.
    pub async fn start(names: &[&str], skew: &[(&str, i64)], max_offset_ms: u64) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut yaml = String::from("regions:\n");
        let mut quic: BTreeMap<String, SocketAddr> = BTreeMap::new();
        let mut http: BTreeMap<String, u16> = BTreeMap::new();
        for (i, name) in names.iter().enumerate() {
            let h = super::free_port();
            let q = free_udp_port();
            yaml.push_str(&format!(
                "  - name: {name}\n    location: {{ lat: {}, lon: {} }}\n    http: 127.0.0.1:{h}\n    quic: 127.0.0.1:{q}\n",
                10.0 * i as f64,
                20.0 * i as f64
            ));
            quic.insert(
                (*name).to_owned(),
                format!("127.0.0.1:{q}").parse().expect("addr"),
            );
            http.insert((*name).to_owned(), h);
        }
        yaml.push_str(&format!(
            "settings:\n  max_clock_offset_ms: {max_offset_ms}\n  certs_dir: {}\n",
            dir.path().join("certs").display()
        ));
        let yaml_path = dir.path().join("regions.yaml");
        std::fs::write(&yaml_path, yaml).expect("write regions.yaml");
        let config = dir.path().join("node.toml");
        std::fs::write(
            &config,
            "[auth]\nargon2_memory_kib = 64\nargon2_iterations = 1\n[limits]\npresence_grace_secs = 1\n",
        )
        .expect("write config");

        // The region whose name sorts lower dials; its link goes through a proxy.
        let mut proxies = BTreeMap::new();
        let mut dial: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for a in names {
            for b in names {
                if a < b {
                    let proxy = LinkProxy::start("127.0.0.1:0".parse().expect("addr"), quic[*b], 7)
                        .await
                        .expect("proxy");
                    dial.entry((*a).to_owned())
                        .or_default()
                        .push(format!("{b}={}", proxy.local_addr()));
                    proxies.insert(((*a).to_owned(), (*b).to_owned()), proxy);
                }
            }
        }
        let mut regions = Vec::new();
        for name in names {
            let data = dir.path().join(name);
            std::fs::create_dir_all(&data).expect("data dir");
            let mut envs = vec![(
                "CHATMESH_PEER_ADDRS".to_owned(),
                dial.get(*name).map(|d| d.join(",")).unwrap_or_default(),
            )];
            if let Some((_, ms)) = skew.iter().find(|(n, _)| n == name) {
                envs.push(("CHATMESH_CLOCK_SKEW_MS".to_owned(), ms.to_string()));
            }
            regions.push(Region {
                name: (*name).to_owned(),
                base: format!("http://127.0.0.1:{}", http[*name]),
                data,
                envs,
                child: None,
            });
        }
        let mut cluster = Self {
            regions,
            proxies,
            yaml: yaml_path,
            config,
            _dir: dir,
        };
        for i in 0..cluster.regions.len() {
            cluster.spawn(i);
        }
        for region in &cluster.regions {
            wait_up(&region.base).await;
        }
        cluster
    }

    fn index(&self, name: &str) -> usize {
        self.regions
            .iter()
            .position(|r| r.name == name)
            .expect("a region of the cluster")
    }

    fn spawn(&mut self, i: usize) {
        let yaml = self.yaml.display().to_string();
        let config = self.config.display().to_string();
        let region = &mut self.regions[i];
        let data = region.data.join("store").display().to_string();
        let envs: Vec<(&str, &str)> = region
            .envs
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let child = spawn_binary(
            &[
                "--regions",
                &yaml,
                "--region",
                &region.name,
                "--data",
                &data,
                "--config",
                &config,
            ],
            &envs,
            &region.data,
        );
        region.child = Some(child);
    }

    /// Waits until every region reports a live link to every other one.
    pub async fn linked(&self) {
        for region in &self.regions {
            let url = format!("{}/metrics", region.base);
            let peers = self.regions.len() - 1;
            let mut up = 0;
            for _ in 0..300 {
                let text = reqwest::get(&url)
                    .await
                    .expect("metrics")
                    .text()
                    .await
                    .expect("metrics text");
                up = text
                    .lines()
                    .filter(|l| l.starts_with("chatmesh_peer_up") && l.ends_with(" 1"))
                    .count();
                if up == peers {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            assert_eq!(up, peers, "links of {} never all came up", region.name);
        }
    }

    /// The HTTP base URL of `name`.
    pub fn base(&self, name: &str) -> &str {
        &self.regions[self.index(name)].base
    }

    /// Cuts (or heals) the link between `a` and `b`, both ways.
    pub fn cut(&self, a: &str, b: &str, cut: bool) {
        let key = if a < b {
            (a.to_owned(), b.to_owned())
        } else {
            (b.to_owned(), a.to_owned())
        };
        self.proxies[&key].set_blocked(Direction::Both, cut);
    }

    /// Sets the one-way delay on every link.
    pub fn delay(&self, delay: std::time::Duration) {
        for proxy in self.proxies.values() {
            proxy.set_delay(delay);
        }
    }

    /// SIGKILLs region `name`.
    pub fn kill(&mut self, name: &str) {
        let i = self.index(name);
        if let Some(mut child) = self.regions[i].child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Stops region `name` with SIGTERM, letting it drain and close its store.
    pub fn stop(&mut self, name: &str) {
        let i = self.index(name);
        if let Some(mut child) = self.regions[i].child.take() {
            super::terminate(&mut child);
        }
    }

    /// The store directory of region `name` (open it only while stopped).
    pub fn store_dir(&self, name: &str) -> PathBuf {
        self.regions[self.index(name)].data.join("store")
    }

    /// Starts region `name` again on its data.
    pub async fn restart(&mut self, name: &str) {
        let i = self.index(name);
        self.spawn(i);
        wait_up(&self.regions[i].base).await;
    }
}

/// Polls `/healthz` for up to 60 s: three regions starting at once on a
/// loaded machine take a while.
async fn wait_up(base: &str) {
    let http = reqwest::Client::new();
    for _ in 0..600 {
        if let Ok(r) = http.get(format!("{base}/healthz")).send().await
            && r.status().is_success()
        {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("region at {base} never became healthy");
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for region in &mut self.regions {
            if let Some(mut child) = region.child.take() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
}

/// Registers `name` in region `base` and logs in there.
pub async fn user(base: &str, name: &str) -> (String, String) {
    let client = client::Client::new(base).expect("a client");
    super::ws::user(&client, name).await
}

/// Waits until `check` holds, polling every 100 ms for 30 s.
pub async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..300 {
        if check().await {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for {what}");
}

/// Waits until `GET path` answers 200 in `region`.
pub async fn visible(cluster: &Cluster, region: &str, token: &str, path: &str) {
    let base = cluster.base(region).to_owned();
    eventually(&format!("{path} in {region}"), || {
        let base = base.clone();
        async move { super::http::get(&base, token, path).await.0 == 200 }
    })
    .await;
}
