//! Files kassa keeps on disk besides what a database server keeps for it: made readable by their
//! owner alone.
//!
//! The SQLite database holds webhook signing secrets in the clear and customers' data, and the
//! card fingerprint key is a secret. A file created with the usual mode (`0666`) under the usual
//! umask (`022`) can be read by every user of the machine, so kassa creates these files `0600`
//! itself, whatever the umask, and warns at start about existing ones that other users can open
//! ([`warn_if_open_to_others`]); it does not change an existing file's mode, which its owner may
//! have chosen (a backup user's group, say).
//!
//! SQLite creates a database's `-wal` and `-shm` files with the mode of the database file itself,
//! so a database file created `0600` keeps its companions `0600` too.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Options that create a file `0600` (on Unix; elsewhere the platform's default).
fn private() -> OpenOptions {
    let mut options = OpenOptions::new();
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
}

/// Create `path` empty, `0600`, unless something is there already; whether it was created. A new
/// file's directory entry is synced, so that it outlives a crash as its contents will.
pub fn create_private(path: &Path) -> io::Result<bool> {
    match private().write(true).create_new(true).open(path) {
        Ok(_) => {
            sync_parent(path)?;
            Ok(true)
        }
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(e),
    }
}

/// Write `contents` to a new file at `path`, `0600`, unless something is there already; whether
/// this call created it. The contents are written and synced under a temporary name beside it,
/// then linked into place (a link never replaces an existing file): a reader never sees the file
/// half written, and of two processes racing to create it, one wins and the other finds what the
/// winner wrote. Where links are not supported the file is written in place.
pub fn create_private_with(path: &Path, contents: &[u8]) -> io::Result<bool> {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".tmp-{}-{}", std::process::id(), kassa_core::ids::random_base62(8)));
    let temporary = path.with_file_name(name);
    let mut file = private().write(true).create_new(true).open(&temporary)?;
    let written = file.write_all(contents).and_then(|()| file.sync_all());
    drop(file);
    let linked = written.and_then(|()| std::fs::hard_link(&temporary, path));
    let _ = std::fs::remove_file(&temporary);
    match linked {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => return Ok(false),
        Err(_) => {
            // No hard links here (some network and FUSE file systems): write in place.
            let mut file = match private().write(true).create_new(true).open(path) {
                Ok(f) => f,
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => return Ok(false),
                Err(e) => return Err(e),
            };
            file.write_all(contents)?;
            file.sync_all()?;
        }
    }
    sync_parent(path)?;
    Ok(true)
}

/// Sync the directory holding `path`, so that a file just created there stays after a crash.
fn sync_parent(path: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        let parent = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        File::open(parent)?.sync_all()?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// `path` made absolute (against the working directory), for messages: a log line should say
/// which file wherever kassa was started from.
pub fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_owned())
}

/// The files among `paths` that exist and that users other than their owner may open (any of the
/// mode's group or other bits), each with its mode.
pub fn open_to_others(paths: &[PathBuf]) -> Vec<(PathBuf, u32)> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        paths
            .iter()
            .filter_map(|p| {
                let mode = std::fs::metadata(p).ok()?.permissions().mode() & 0o777;
                (mode & 0o077 != 0).then(|| (p.clone(), mode))
            })
            .collect()
    }
    #[cfg(not(unix))]
    {
        let _ = paths;
        Vec::new()
    }
}

/// Log one warning naming every file among `paths` that other users may open, what it holds
/// (`holding`), and the `chmod` that closes them; nothing if there is none. Whether it warned.
pub fn warn_if_open_to_others(paths: &[PathBuf], holding: &str) -> bool {
    let open = open_to_others(paths);
    if open.is_empty() {
        return false;
    }
    let files: Vec<String> =
        open.iter().map(|(p, mode)| format!("{} (mode {mode:04o})", absolute(p).display())).collect();
    let chmod: Vec<String> = open.iter().map(|(p, _)| shell_quoted(&absolute(p))).collect();
    tracing::warn!(
        "{} can be read by other users of this machine, and {holding}: run `chmod 600 {}`",
        files.join(", "),
        chmod.join(" ")
    );
    true
}

/// `path` as one shell word: as it is when it is made of safe characters, else in single quotes.
fn shell_quoted(path: &Path) -> String {
    let text = path.display().to_string();
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_alphanumeric() || b"/._-+:@%,".contains(&b)) {
        text
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

#[cfg(all(test, unix))]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn creates_files_for_their_owner_alone() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("a.db");
        assert!(create_private(&db).unwrap());
        assert_eq!(mode(&db), 0o600);
        assert!(!create_private(&db).unwrap(), "an existing file is left alone");

        let key = dir.path().join("a.key");
        assert!(create_private_with(&key, b"first").unwrap());
        assert!(!create_private_with(&key, b"second").unwrap());
        assert_eq!(std::fs::read(&key).unwrap(), b"first");
        assert_eq!(mode(&key), 0o600);
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names.len(), 2, "no temporary file is left behind: {names:?}");
    }

    #[test]
    fn finds_files_open_to_others() {
        let dir = tempfile::tempdir().unwrap();
        let (private_file, shared, missing) =
            (dir.path().join("p"), dir.path().join("it's shared"), dir.path().join("missing"));
        std::fs::write(&private_file, b"").unwrap();
        std::fs::set_permissions(&private_file, std::fs::Permissions::from_mode(0o600)).unwrap();
        std::fs::write(&shared, b"").unwrap();
        std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o640)).unwrap();
        let all = [private_file, shared.clone(), missing];
        assert_eq!(open_to_others(&all), vec![(shared.clone(), 0o640)]);
        assert_eq!(shell_quoted(Path::new("/a/b.db")), "/a/b.db");
        assert_eq!(shell_quoted(&shared), format!("'{}/it'\\''s shared'", dir.path().display()));
    }
}
