// Whether the tests that need PostgreSQL are compiled as ignored.
//
// `KASSA_TEST_POSTGRES=0` turns them off. libtest and cargo-nextest can only report a test as
// skipped when it is marked `#[ignore]` at compile time (a test cannot skip itself once it
// runs), so this sets the cfg `kassa_no_postgres`, and every such test carries
// `#[cfg_attr(kassa_no_postgres, ignore = "needs PostgreSQL (KASSA_TEST_POSTGRES=0)")]`: the
// run then lists them as ignored (`SKIP` in nextest's summary) instead of counting them as
// passed. Under CI (`CI` set, and neither empty, `0` nor `false`) the cfg is never set, so a
// PostgreSQL test runs and fails with the reason (`TempPostgres::new_or_skip`) rather than
// being left out.
//
// The `kassa` crate's build script is this file too (`include!`), for its scale-out and CLI
// tests, hence the paths below, which name this file from either crate.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(kassa_no_postgres)");
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-changed=../kassa-store/build.rs");
    println!("cargo::rerun-if-env-changed=KASSA_TEST_POSTGRES");
    println!("cargo::rerun-if-env-changed=CI");
    let off = std::env::var("KASSA_TEST_POSTGRES").is_ok_and(|v| v == "0");
    let ci = std::env::var("CI").is_ok_and(|v| !matches!(v.trim(), "" | "0" | "false"));
    if off && !ci {
        println!("cargo::rustc-cfg=kassa_no_postgres");
    }
}
