//! Starts the real `stac-oci` binary on a free loopback port and stops it on drop.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A running gateway process.
pub struct Gateway {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    child: Child,
    log: Arc<Mutex<String>>,
    _dir: tempfile::TempDir,
}

impl Gateway {
    /// Writes `config` (TOML; `listen` is forced to a free port) and runs `stac-oci serve`,
    /// returning once `/readyz` answers 200 (the first crawl is done).
    pub async fn start(config: &str) -> Gateway {
        Gateway::start_with_log(config, "info,stac_oci=debug").await
    }

    /// Like [`Gateway::start`], logging with the `STAC_OCI_LOG` filter `log`.
    pub async fn start_with_log(config: &str, log: &str) -> Gateway {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("stac-oci.toml");
        std::fs::write(
            &path,
            format!("[server]\nlisten = \"127.0.0.1:0\"\n\n{config}"),
        )
        .unwrap();
        let args = ["--config".to_owned(), path.display().to_string()];
        Gateway::spawn(&args, dir, log).await
    }

    /// Runs `stac-oci serve --listen 127.0.0.1:0 <args>` (no args: the bundled demo).
    pub async fn start_with_args(args: &[String], dir: tempfile::TempDir) -> Gateway {
        Gateway::spawn(args, dir, "info,stac_oci=debug").await
    }

    async fn spawn(args: &[String], dir: tempfile::TempDir, log: &str) -> Gateway {
        let mut child = Command::new(env!("CARGO_BIN_EXE_stac-oci"))
            .arg("serve")
            .args(["--listen", "127.0.0.1:0"])
            .args(args)
            .current_dir(dir.path())
            .env("NO_COLOR", "1")
            .env("STAC_OCI_LOG", log)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the stac-oci binary starts");
        let stderr = child.stderr.take().expect("piped stderr");
        let log = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let sink = Arc::clone(&log);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(at) = line.find("listening on http://") {
                    let url = line[at + "listening on ".len()..]
                        .split_whitespace()
                        .next()
                        .unwrap_or("");
                    let _ = tx.send(url.to_owned());
                }
                let mut log = sink.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });
        let url = tokio::task::spawn_blocking(move || rx.recv_timeout(Duration::from_secs(30)))
            .await
            .unwrap()
            .unwrap_or_else(|_| panic!("gateway did not start: {}", log.lock().unwrap()));
        let gateway = Gateway {
            url,
            child,
            log,
            _dir: dir,
        };
        gateway.wait_ready().await;
        gateway
    }

    async fn wait_ready(&self) {
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            if let Ok(r) = client.get(format!("{}/readyz", self.url)).send().await
                && r.status() == 200
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "gateway not ready: {}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Everything the gateway logged so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
