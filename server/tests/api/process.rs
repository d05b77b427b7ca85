//! The server as a child process (the built binary), for what only a real
//! process shows: killed with SIGKILL, stopped with SIGTERM.

use crate::helpers::TestApp;
use server::{config::Config, startup::build_core};
use std::{collections::HashMap, path::Path, time::Duration};
use tokio::process::{Child, Command};

pub struct ServerProcess {
    child: Child,
    pub app: TestApp,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl ServerProcess {
    /// Starts `server` (or `server <args>`) on `env`, in `dir` (so that no
    /// developer's `.env` is read), and waits until it answers.
    pub async fn start(env: &HashMap<String, String>, dir: &Path) -> ServerProcess {
        let address = format!("127.0.0.1:{}", free_port());
        let log = std::fs::File::options().create(true).append(true).open(dir.join("server.log")).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_server"))
            .envs(env)
            .env("LEPTOS_SITE_ADDR", &address)
            .current_dir(dir)
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .expect("the server binary starts");
        let client = reqwest::Client::new();
        for _ in 0..300 {
            if let Ok(r) = client.get(format!("http://{address}/health/live")).send().await
                && r.status() == 200
            {
                // After the server has migrated the database: ours only reads.
                let config = Config::from_lookup(|k| env.get(k).cloned()).expect("test configuration");
                let core = build_core(&config).await.expect("a core on the same database");
                let app = TestApp::elsewhere(format!("http://{address}"), core, env.clone());
                return ServerProcess { child, app };
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the server did not start: {}", std::fs::read_to_string(dir.join("server.log")).unwrap_or_default());
    }

    pub fn pid(&self) -> u32 {
        self.child.id().expect("running")
    }

    /// What `/proc` says of it: resident memory in KiB, open descriptors.
    pub fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap();
        let line = status.lines().find(|l| l.starts_with("VmRSS:")).expect("VmRSS");
        line.split_whitespace().nth(1).unwrap().parse().unwrap()
    }

    pub fn open_descriptors(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/fd", self.pid())).map_or(0, |dir| dir.count())
    }

    /// SIGKILL: no shutdown code runs.
    pub async fn kill(mut self) {
        self.child.kill().await.unwrap();
    }

    /// SIGTERM, then waits for the process to end; returns whether it ended
    /// with success.
    pub async fn terminate(self) -> bool {
        self.terminate_within(Duration::from_secs(60)).await
    }

    /// SIGTERM; fails the test unless the process ends within `limit`.
    pub async fn terminate_within(mut self, limit: Duration) -> bool {
        let pid = self.child.id().unwrap().to_string();
        let sent = std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(sent.success());
        let status = tokio::time::timeout(limit, self.child.wait()).await;
        status.unwrap_or_else(|_| panic!("the server did not stop within {limit:?} of SIGTERM")).unwrap().success()
    }
}
