//! PostgreSQL over TLS: `kassa serve` against a PostgreSQL cluster of the test's
//! own with `ssl = on`, a server certificate for `localhost` signed by a test CA made here (rcgen),
//! and no plain TCP connections allowed. `require`, `verify-ca`, `verify-full` and the default
//! (`prefer`) connect over TLS and serve; a certificate that cannot be trusted for the mode is
//! refused with an error naming the mode; `prefer` falls back to plain text when the handshake
//! fails. Which of kassa's connections use TLS is read from the server (`pg_stat_ssl`) over the
//! cluster's Unix socket.
//!
//! Needs PostgreSQL's binaries (`initdb`, `pg_ctl`); with `KASSA_TEST_POSTGRES=0` these tests are
//! compiled as ignored (see `kassa_store::postgres::TempPostgres`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};

mod common;
use common::Kassa;
use common::postgres::{PrivatePostgres, Setup};

const KEY: &str = "sk_test_PostgresTlsKey0000000000000000";

/// A test CA, a server certificate for `localhost` (only) signed by it, and another CA.
struct Pki {
    ca: String,
    server_cert: String,
    server_key: String,
    other_ca: String,
}

fn ca(name: &str) -> (CertificateParams, KeyPair, String) {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let pem = params.self_signed(&key).unwrap().pem();
    (params, key, pem)
}

fn pki() -> Pki {
    let (ca_params, ca_key, ca_pem) = ca("kassa test CA");
    let issuer = Issuer::new(ca_params, ca_key);
    let server_key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
    params.distinguished_name.push(DnType::CommonName, "localhost");
    let server_cert = params.signed_by(&server_key, &issuer).unwrap().pem();
    let (_, _, other_ca) = ca("another CA");
    Pki { ca: ca_pem, server_cert, server_key: server_key.serialize_pem(), other_ca }
}

/// A cluster with TLS on that refuses plain TCP connections; the CA files written beside it.
fn tls_cluster(pki: &Pki, settings: Vec<String>, tls_only: bool) -> (PrivatePostgres, String, String) {
    let pg = PrivatePostgres::start_with(Setup {
        tls: Some((pki.server_cert.clone(), pki.server_key.clone())),
        tls_only,
        settings,
    });
    let ca = pg.scratch().join("root.crt");
    std::fs::write(&ca, &pki.ca).unwrap();
    let other = pg.scratch().join("other-root.crt");
    std::fs::write(&other, &pki.other_ca).unwrap();
    (pg, ca.to_str().unwrap().to_owned(), other.to_str().unwrap().to_owned())
}

/// kassa's connections to the cluster right now: (over TLS, in plain text).
async fn kassa_connections(pg: &PrivatePostgres) -> (i64, i64) {
    let row = pg
        .socket_client()
        .await
        .query_one(
            "SELECT COUNT(*) FILTER (WHERE s.ssl), COUNT(*) FILTER (WHERE NOT s.ssl) \
             FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) WHERE a.application_name = 'kassa'",
            &[],
        )
        .await
        .unwrap();
    (row.get(0), row.get(1))
}

/// `kassa serve` on `url`: health, a product made and read back; kassa's connections to the
/// cluster while it runs (over TLS, in plain text).
async fn serve_on(pg: &PrivatePostgres, url: &str) -> (i64, i64) {
    let dir = tempfile::tempdir().unwrap();
    let (mut kassa, addr) = Kassa::serve(dir.path(), &["--database-url", url], &[("KASSA_SECRET_KEY", KEY)]);
    let http = kassa::client::builder().build().unwrap();
    let health = http.get(format!("http://{addr}/health")).send().await.unwrap();
    assert_eq!(health.status(), 200, "{url}");
    let made = http
        .post(format!("http://{addr}/products"))
        .bearer_auth(KEY)
        .form(&[("name", url)])
        .send()
        .await
        .unwrap();
    assert_eq!(made.status(), 201, "{url}");
    let id = made.json::<serde_json::Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
    let read = http.get(format!("http://{addr}/products/{id}")).bearer_auth(KEY).send().await.unwrap();
    assert_eq!(read.json::<serde_json::Value>().await.unwrap()["name"], url);
    let connections = kassa_connections(pg).await;
    assert!(kassa.stderr().contains(&format!("sslmode={}", mode_of(url))), "{}", kassa.stderr());
    assert!(kassa.terminate().success());
    connections
}

/// The mode a URL asks for (kassa logs it when it opens the store).
fn mode_of(url: &str) -> &str {
    url.split(['?', '&']).find_map(|p| p.strip_prefix("sslmode=")).unwrap_or("prefer")
}

/// `kassa serve` on `url` fails to start; its stderr.
fn refused(url: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let mut kassa = Kassa::spawn(
        dir.path(),
        &["serve", "--listen", "127.0.0.1:0", "--database-url", url],
        &[("KASSA_SECRET_KEY", KEY)],
    );
    let status = kassa.wait();
    let stderr = kassa.stderr();
    eprintln!("{url}:\n{stderr}");
    assert!(!status.success(), "{url} must be refused:\n{stderr}");
    assert!(!stderr.contains("kassa is serving"), "{stderr}");
    assert!(!stderr.contains("hunter2"), "the password is never shown:\n{stderr}");
    stderr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(kassa_no_postgres, ignore = "needs PostgreSQL (KASSA_TEST_POSTGRES=0)")]
async fn require_verify_ca_verify_full_and_the_default_connect_over_tls_and_serve() {
    let pki = pki();
    let (pg, ca, _) = tls_cluster(&pki, vec![], true);
    let port = pg.port();
    for url in [
        format!("postgres://postgres@127.0.0.1:{port}/postgres?sslmode=require"),
        format!(
            "postgres://postgres@localhost:{port}/postgres?hostaddr=127.0.0.1&sslmode=verify-full&sslrootcert={ca}"
        ),
        // verify-ca checks the chain, not the name: 127.0.0.1 is not in the certificate.
        format!("postgres://postgres@127.0.0.1:{port}/postgres?sslmode=verify-ca&sslrootcert={ca}"),
        // libpq: `require` with a root certificate checks the chain too.
        format!("postgres://postgres@127.0.0.1:{port}/postgres?sslmode=require&sslrootcert={ca}"),
        // The default, `prefer`, takes TLS where the server offers it.
        format!("postgres://postgres@127.0.0.1:{port}/postgres"),
    ] {
        let (tls, plain) = serve_on(&pg, &url).await;
        assert!(tls > 0 && plain == 0, "{url}: {tls} connections over TLS, {plain} plain");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(kassa_no_postgres, ignore = "needs PostgreSQL (KASSA_TEST_POSTGRES=0)")]
async fn certificates_that_cannot_be_trusted_are_refused_naming_the_mode() {
    let pki = pki();
    let (pg, ca, other_ca) = tls_cluster(&pki, vec![], true);
    let port = pg.port();
    // `localhost` is reached at 127.0.0.1 whatever else it resolves to (`hostaddr`, as libpq).
    let base = |host: &str| match host {
        "localhost" => format!("postgres://postgres:hunter2@localhost:{port}/postgres?hostaddr=127.0.0.1&"),
        _ => format!("postgres://postgres:hunter2@{host}:{port}/postgres?"),
    };

    // verify-full by address: the certificate names `localhost` only.
    let stderr = refused(&format!("{}sslmode=verify-full&sslrootcert={ca}", base("127.0.0.1")));
    assert!(stderr.contains("opening the database at postgres://postgres:***@127.0.0.1"), "{stderr}");
    assert!(stderr.contains("TLS handshake failed (sslmode=verify-full)"), "{stderr}");
    assert!(stderr.contains("does not name the host"), "{stderr}");

    // verify-ca (and verify-full) with a CA that did not sign it.
    for mode in ["verify-ca", "verify-full"] {
        let stderr = refused(&format!("{}sslmode={mode}&sslrootcert={other_ca}", base("localhost")));
        assert!(stderr.contains(&format!("TLS handshake failed (sslmode={mode})")), "{stderr}");
        assert!(stderr.contains("not signed by a root kassa trusts"), "{stderr}");
    }
    // Without sslrootcert, the platform's roots, which do not know the test CA.
    let stderr = refused(&format!("{}sslmode=verify-full", base("localhost")));
    assert!(stderr.contains("TLS handshake failed (sslmode=verify-full)"), "{stderr}");
    assert!(stderr.contains("sslrootcert"), "{stderr}");

    // The cluster refuses plain connections, so `disable` is turned away by the server itself.
    let stderr = refused(&format!("{}sslmode=disable", base("127.0.0.1")));
    assert!(stderr.contains("no pg_hba.conf entry") && stderr.contains("no encryption"), "{stderr}");

    // A server without TLS: `require` says so.
    let plain = PrivatePostgres::start();
    let stderr =
        refused(&format!("postgres://postgres:hunter2@127.0.0.1:{}/postgres?sslmode=require", plain.port()));
    assert!(stderr.contains("TLS handshake failed (sslmode=require)"), "{stderr}");
    assert!(stderr.contains("does not support TLS"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(kassa_no_postgres, ignore = "needs PostgreSQL (KASSA_TEST_POSTGRES=0)")]
async fn prefer_falls_back_to_plain_text_when_the_handshake_fails() {
    // TLS on, but with a cipher no one can agree on (TLS 1.2, RSA only, for an ECDSA certificate):
    // every handshake fails. Plain connections are allowed.
    let pki = pki();
    let settings = vec!["ssl_max_protocol_version=TLSv1.2".to_owned(), "ssl_ciphers=AES128-SHA".to_owned()];
    let (pg, _, _) = tls_cluster(&pki, settings, false);
    let port = pg.port();
    let (tls, plain) = serve_on(&pg, &format!("postgres://postgres@127.0.0.1:{port}/postgres")).await;
    assert!(tls == 0 && plain > 0, "{tls} connections over TLS, {plain} plain");
    let stderr = refused(&format!("postgres://postgres:hunter2@127.0.0.1:{port}/postgres?sslmode=require"));
    assert!(stderr.contains("TLS handshake failed (sslmode=require)"), "{stderr}");
}
