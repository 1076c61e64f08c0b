//! Starts the real `stac-oci` binary on a free loopback port and stops it on drop.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a test gateway may take to be ready.
const READY_TIMEOUT: Duration = Duration::from_secs(120);
/// The log filter of test gateways.
const LOG: &str = "info,stac_oci=debug";

/// A running gateway process.
pub struct Gateway {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// From starting the process to the first `200` of `/readyz`.
    pub ready_after: Duration,
    /// The process id.
    pub pid: u32,
    child: Child,
    log: Arc<Mutex<String>>,
    _dir: tempfile::TempDir,
}

impl Gateway {
    /// Writes `config` (TOML; `listen` is forced to a free port) and runs `stac-oci serve`,
    /// returning once `/readyz` answers 200 (the first crawl is done).
    pub async fn start(config: &str) -> Gateway {
        Gateway::start_with(config, LOG, READY_TIMEOUT).await
    }

    /// Like [`Gateway::start`], logging with the `STAC_OCI_LOG` filter `log`.
    pub async fn start_with_log(config: &str, log: &str) -> Gateway {
        Gateway::start_with(config, log, READY_TIMEOUT).await
    }

    /// Like [`Gateway::start`], logging with `log` and waiting up to `ready_timeout`.
    pub async fn start_with(config: &str, log: &str, ready_timeout: Duration) -> Gateway {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("stac-oci.toml");
        std::fs::write(
            &path,
            format!("[server]\nlisten = \"127.0.0.1:0\"\n\n{config}"),
        )
        .unwrap();
        let args = ["--config".to_owned(), path.display().to_string()];
        Gateway::spawn(&args, dir, log, ready_timeout).await
    }

    /// Runs `stac-oci serve --listen 127.0.0.1:0 <args>` (no args: the bundled demo).
    pub async fn start_with_args(args: &[String], dir: tempfile::TempDir) -> Gateway {
        Gateway::spawn(args, dir, LOG, READY_TIMEOUT).await
    }

    async fn spawn(
        args: &[String],
        dir: tempfile::TempDir,
        log: &str,
        ready_timeout: Duration,
    ) -> Gateway {
        let started = Instant::now();
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
        let mut gateway = Gateway {
            url,
            ready_after: Duration::ZERO,
            pid: child.id(),
            child,
            log,
            _dir: dir,
        };
        gateway.wait_ready(started + ready_timeout).await;
        gateway.ready_after = started.elapsed();
        gateway
    }

    async fn wait_ready(&self, deadline: Instant) {
        let client = reqwest::Client::new();
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

    /// Sends SIGTERM and waits (up to 10 s) for the process to exit; its exit status.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let sent = Command::new("kill")
            .args(["-TERM", &self.pid.to_string()])
            .status()
            .expect("kill runs");
        assert!(sent.success(), "SIGTERM could not be sent");
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status;
            }
            assert!(Instant::now() < deadline, "the gateway ignored SIGTERM");
            std::thread::sleep(Duration::from_millis(20));
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
