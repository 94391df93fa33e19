//! [`PrivatePostgres`]: a PostgreSQL cluster of the test's own (`initdb` in a temporary directory,
//! on a free port), so that it can be restarted, or configured (TLS on, plain connections
//! refused), without disturbing the tests that share the machine's server. As root, the cluster
//! runs as the `postgres` user (PostgreSQL refuses root).

use std::path::{Path, PathBuf};

/// What [`PrivatePostgres::start_with`] sets up besides the defaults.
#[derive(Debug, Default, Clone)]
pub struct Setup {
    /// `ssl = on` with this certificate chain and private key (PEM).
    pub tls: Option<(String, String)>,
    /// Refuse TCP connections without TLS (`hostssl` lines only in `pg_hba.conf`). Connections
    /// over the cluster's Unix socket ([`PrivatePostgres::socket_dir`]) are always let in.
    pub tls_only: bool,
    /// More server settings, `name=value` each (`ssl_ciphers=…`).
    pub settings: Vec<String>,
}

pub struct PrivatePostgres {
    bin: PathBuf,
    dir: tempfile::TempDir,
    port: u16,
    as_postgres: bool,
    setup: Setup,
}

impl PrivatePostgres {
    /// A cluster with PostgreSQL's defaults (no TLS), trusting every local user.
    pub fn start() -> Self {
        Self::start_with(Setup::default())
    }

    pub fn start_with(setup: Setup) -> Self {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .expect("PostgreSQL's binaries under /usr/lib/postgresql")
            .flatten()
            .map(|e| e.path().join("bin"))
            .find(|p| p.join("initdb").exists())
            .expect("initdb under /usr/lib/postgresql/*/bin");
        let dir = tempfile::tempdir().unwrap();
        let as_postgres = std::process::Command::new("id").arg("-u").output().unwrap().stdout == b"0\n";
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let pg = Self { bin, dir, port, as_postgres, setup };
        let data = pg.data();
        if as_postgres {
            pg.chown();
        }
        pg.run("initdb", &["-D", &data, "-A", "trust", "-U", "postgres", "--no-sync"]);
        pg.configure();
        pg.ctl("start");
        pg
    }

    /// Hand the directory (and what the test wrote into it) to the `postgres` user.
    fn chown(&self) {
        let chown = std::process::Command::new("chown")
            .args(["-R", "postgres", self.dir.path().to_str().unwrap()])
            .status()
            .unwrap();
        assert!(chown.success());
    }

    /// The certificate and key files, and `pg_hba.conf`.
    fn configure(&self) {
        let data = Path::new(&self.data()).to_owned();
        if let Some((cert, key)) = &self.setup.tls {
            std::fs::write(data.join("server.crt"), cert).unwrap();
            std::fs::write(data.join("server.key"), key).unwrap();
            // PostgreSQL refuses a private key that others can read.
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(data.join("server.key"), std::fs::Permissions::from_mode(0o600))
                .unwrap();
        }
        if self.setup.tls_only {
            std::fs::write(
                data.join("pg_hba.conf"),
                "local all all trust\nhostssl all all 127.0.0.1/32 trust\nhostssl all all ::1/128 trust\n",
            )
            .unwrap();
        }
        if self.as_postgres {
            self.chown();
        }
    }

    fn data(&self) -> String {
        self.dir.path().join("data").to_str().unwrap().to_owned()
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The directory of the cluster's Unix socket.
    pub fn socket_dir(&self) -> &Path {
        self.dir.path()
    }

    /// `postgres://postgres@127.0.0.1:<port>/postgres`
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// A client on the cluster's `postgres` database over its Unix socket (which takes
    /// connections whatever the TLS settings).
    pub async fn socket_client(&self) -> tokio_postgres::Client {
        let (client, connection) = tokio_postgres::Config::new()
            .host_path(self.socket_dir())
            .port(self.port)
            .user("postgres")
            .dbname("postgres")
            .connect(tokio_postgres::NoTls)
            .await
            .expect("a connection over the Unix socket");
        tokio::spawn(connection);
        client
    }

    /// A directory the test may write files into (certificates), removed with the cluster.
    pub fn scratch(&self) -> PathBuf {
        let d = self.dir.path().join("scratch");
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn run(&self, tool: &str, args: &[&str]) {
        let tool = self.bin.join(tool);
        let mut cmd = if self.as_postgres {
            let mut c = std::process::Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&tool);
            c
        } else {
            std::process::Command::new(&tool)
        };
        let out = cmd.args(args).output().expect("a PostgreSQL tool runs");
        assert!(
            out.status.success(),
            "{} {args:?}: {}{}",
            tool.display(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// `pg_ctl start|restart|stop` (fast shutdown: open connections are cut, as in a failover).
    pub fn ctl(&self, action: &str) {
        let mut options = format!(
            "-c port={} -c listen_addresses=127.0.0.1 -c unix_socket_directories={} -c fsync=on",
            self.port,
            self.dir.path().display()
        );
        if self.setup.tls.is_some() {
            options.push_str(" -c ssl=on -c ssl_cert_file=server.crt -c ssl_key_file=server.key");
        }
        for setting in &self.setup.settings {
            options.push_str(&format!(" -c {setting}"));
        }
        let log = self.dir.path().join("postgres.log");
        let data = self.data();
        let log = log.to_str().unwrap();
        self.run("pg_ctl", &["-D", &data, "-l", log, "-m", "fast", "-w", "-o", &options, action]);
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        let data = self.data();
        let tool = self.bin.join("pg_ctl");
        let _ = if self.as_postgres {
            std::process::Command::new("runuser")
                .args(["-u", "postgres", "--"])
                .arg(&tool)
                .args(["-D", &data, "-m", "immediate", "stop"])
                .output()
        } else {
            std::process::Command::new(&tool).args(["-D", &data, "-m", "immediate", "stop"]).output()
        };
    }
}
