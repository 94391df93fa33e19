// The same decision as the store's: whether the tests that need PostgreSQL (tests/scaleout.rs,
// the PostgreSQL part of tests/cli.rs) are compiled as ignored. See crates/kassa-store/build.rs.
include!("../kassa-store/build.rs");
