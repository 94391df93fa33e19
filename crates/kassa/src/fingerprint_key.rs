//! The installation's card fingerprint key (`kassa_core::payment::FingerprintKey`, whose module
//! says why fingerprints are keyed), found at start:
//!
//! 1. `KASSA_FINGERPRINT_KEY`, when set: no file is read or written;
//! 2. else the key file (`--fingerprint-key-file` / `KASSA_FINGERPRINT_KEY_FILE`), by default
//!    beside a SQLite database (`kassa.db` → `kassa.fingerprint-key`) or, for PostgreSQL,
//!    `kassa.fingerprint-key` in the working directory;
//! 3. else a new key, written to that file (`0600`, complete or not at all) on first start.
//!
//! The key never goes into the database: whoever reads the database (or a backup of it) without
//! the key learns nothing about a card number from its fingerprint. The same key must stay with
//! the database — a new one gives every card a new fingerprint — and **every node on one
//! PostgreSQL database must have the same key**: a node that generates its own says so loudly.

use std::path::{Path, PathBuf};

use anyhow::Context;
use kassa_core::payment::FingerprintKey;

use crate::config::Settings;

/// The key file's name beside a SQLite database, or in the working directory for PostgreSQL.
pub const DEFAULT_FILE: &str = "kassa.fingerprint-key";

/// The installation's key (see the module docs). Reads, and on first start writes, its file.
pub fn load(settings: &Settings) -> anyhow::Result<FingerprintKey> {
    if let Some(key) = &settings.fingerprint.key {
        tracing::info!("card fingerprints are keyed with KASSA_FINGERPRINT_KEY");
        return Ok(key.clone());
    }
    let sqlite = kassa_store::sqlite_path(&settings.database_url)?;
    let path = match (&settings.fingerprint.key_file, &sqlite) {
        (Some(path), _) => path.clone(),
        (None, Some(db)) => db.with_extension("fingerprint-key"),
        (None, None) => PathBuf::from(DEFAULT_FILE),
    };
    let shown = kassa_store::files::absolute(&path);
    if let Some(key) = read(&path)? {
        kassa_store::files::warn_if_open_to_others(std::slice::from_ref(&path), "it keys card fingerprints");
        tracing::info!(file = %shown.display(), "card fingerprints are keyed with the key in this file");
        return Ok(key);
    }
    let key = FingerprintKey::generate();
    let created = kassa_store::files::create_private_with(&path, format!("{}\n", key.expose()).as_bytes())
        .with_context(|| format!("writing a new card fingerprint key to {}", shown.display()))?;
    if !created {
        // Another process (a node starting beside this one) wrote it first: use theirs.
        return read(&path)?.with_context(|| format!("reading the card fingerprint key {}", shown.display()));
    }
    if sqlite.is_some() {
        tracing::info!(
            file = %shown.display(),
            "generated this installation's card fingerprint key; keep it with the database (back them up \
             together): without it, cards get new fingerprints"
        );
    } else {
        tracing::warn!(
            file = %shown.display(),
            "GENERATED A CARD FINGERPRINT KEY FOR THIS NODE ALONE. Every kassa node on one PostgreSQL \
             database must use the same key, or the same card gets a different fingerprint on each \
             node: give them all KASSA_FINGERPRINT_KEY, or a copy of this file (--fingerprint-key-file)"
        );
    }
    Ok(key)
}

/// The key in the file at `path`; `None` if there is no such file.
fn read(path: &Path) -> anyhow::Result<Option<FingerprintKey>> {
    let shown = || kassa_store::files::absolute(path).display().to_string();
    match std::fs::read_to_string(path) {
        Ok(text) => FingerprintKey::parse(&text)
            .map(Some)
            .map_err(anyhow::Error::msg)
            .with_context(|| format!("the card fingerprint key file {}", shown())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("reading the card fingerprint key file {}", shown())),
    }
}
