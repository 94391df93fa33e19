//! `kassa accounts keys create|list|revoke`: an account's secret keys, managed straight on the
//! database (like `kassa accounts create`), whether or not servers are running on it.
//!
//! - `create` prints the new key alone on standard output; `--roll KEY_ID` (repeatable) with
//!   `--expires-in` rolls keys as Stripe does: the old key keeps working until then, after which
//!   it is refused with `api_key_expired`.
//! - `list` shows each key's handle (`key_…`), its last four characters, when it was created and
//!   last used (to the minute), and its state.
//! - `revoke` refuses the key from then on; running servers notice within
//!   [`KEY_CACHE_SECONDS`](crate::state::KEY_CACHE_SECONDS).
//!
//! The account is `--account`, or the default account (the first one created).

use std::sync::Arc;

use anyhow::Context;
use kassa_core::account::{ApiKeyRecord, KeyState};
use kassa_core::store::Store;
use kassa_core::time::{Clock, SystemClock, Timestamp, to_civil};

use crate::cli::{KeysCommand, KeysTarget};
use crate::service::accounts;

pub async fn run(command: KeysCommand) -> anyhow::Result<()> {
    let now = SystemClock.now();
    match command {
        KeysCommand::Create { target, roll, expires_in } => {
            let expires_in =
                parse_duration(&expires_in).map_err(anyhow::Error::msg).context("--expires-in")?;
            let (store, account) = open(&target).await?;
            let rolled_until = now.saturating_add(expires_in);
            let (key, record, rolled) =
                accounts::create_key(store.as_ref(), &account, &roll, rolled_until, now).await?;
            eprintln!(
                "kassa: created key {} ({}) for account {} ({}); the key:",
                record.id,
                record.shown(),
                account.id,
                account.name
            );
            println!("{}", key.expose());
            for old in rolled {
                let until = old.expires_at.unwrap_or(rolled_until);
                let when = if until <= now {
                    "has expired".to_owned()
                } else {
                    format!("expires at {}", time(until))
                };
                eprintln!("kassa: rolled key {} ({}): it {when}", old.id, old.shown());
            }
        }
        KeysCommand::List { target } => {
            let (store, account) = open(&target).await?;
            let keys = store.api_keys(&account.id).await.context("reading the keys")?;
            eprintln!("kassa: the keys of account {} ({}):", account.id, account.name);
            print!("{}", table(&keys, now));
        }
        KeysCommand::Revoke { key_id, target } => {
            let (store, account) = open(&target).await?;
            let key = accounts::revoke_key(store.as_ref(), &account, &key_id, now).await?;
            eprintln!(
                "kassa: revoked key {} ({}) of account {}: running servers refuse it within {} s",
                key.id,
                key.shown(),
                account.id,
                crate::state::KEY_CACHE_SECONDS
            );
            let keys = store.api_keys(&account.id).await.context("reading the keys")?;
            if !keys.iter().any(|k| k.state(now) == KeyState::Active) {
                eprintln!(
                    "kassa: account {} has no active key left; `kassa accounts keys create` makes one",
                    account.id
                );
            }
        }
    }
    Ok(())
}

/// The store and the account `target` names.
async fn open(target: &KeysTarget) -> anyhow::Result<(Arc<dyn Store>, kassa_core::account::Account)> {
    let url = &target.database.database_url;
    let store = kassa_store::open_store(url)
        .map_err(|e| anyhow::anyhow!("opening the database at {}: {e}", kassa_store::redacted_url(url)))?;
    let account = accounts::account_or_default(store.as_ref(), target.account.as_deref()).await?;
    Ok((store, account))
}

/// `0`, `now`, `90s`, `30m`, `24h`, `7d` (or a bare number of seconds), in seconds.
pub fn parse_duration(text: &str) -> Result<Timestamp, String> {
    let text = text.trim();
    if text == "now" {
        return Ok(0);
    }
    let (digits, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(at) => text.split_at(at),
        None => (text, "s"),
    };
    let unit: Timestamp = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(format!("{text:?} is not a duration such as 90s, 30m, 24h or 7d")),
    };
    digits
        .parse::<Timestamp>()
        .ok()
        .and_then(|n| n.checked_mul(unit))
        .filter(|s| *s <= 3650 * 86_400)
        .ok_or_else(|| format!("{text:?} is not a duration such as 90s, 30m, 24h or 7d (at most 3650d)"))
}

/// `2026-05-20 10:00:05 UTC`
pub fn time(t: Timestamp) -> String {
    let c = to_civil(t);
    let (h, m, s) = (c.second / 3600, c.second % 3600 / 60, c.second % 60);
    format!("{:04}-{:02}-{:02} {h:02}:{m:02}:{s:02} UTC", c.year, c.month, c.day)
}

/// The keys as a table, one line each, oldest first.
pub fn table(keys: &[ApiKeyRecord], now: Timestamp) -> String {
    let mut rows = vec![[
        "ID".to_owned(),
        "KEY".to_owned(),
        "CREATED".to_owned(),
        "LAST USED".to_owned(),
        "STATE".to_owned(),
    ]];
    for k in keys {
        let state = match (k.state(now), k.expires_at, k.revoked_at) {
            (KeyState::Revoked, _, Some(at)) => format!("revoked {}", time(at)),
            (KeyState::Expired, Some(at), _) => format!("expired {}", time(at)),
            (KeyState::Active, Some(at), _) => format!("active, expires {}", time(at)),
            _ => "active".to_owned(),
        };
        rows.push([
            k.id.clone(),
            k.shown(),
            time(k.created),
            k.last_used.map_or_else(|| "never".to_owned(), time),
            state,
        ]);
    }
    let widths: Vec<usize> =
        (0..5).map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0)).collect();
    let mut out = String::new();
    for row in rows {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(cell, w)| format!("{cell}{}", " ".repeat(w - cell.chars().count())))
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        for (text, secs) in
            [("0", 0), ("now", 0), ("90", 90), ("90s", 90), ("30m", 1800), ("24h", 86_400), ("7d", 604_800)]
        {
            assert_eq!(parse_duration(text), Ok(secs), "{text}");
        }
        for bad in ["", "s", "-5s", "1.5h", "5w", "1h30m", "99999999999999999999d", "3651d"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn tables_line_up() {
        assert_eq!(time(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(time(1_779_271_205), "2026-05-20 10:00:05 UTC");
        let key = kassa_core::account::SecretKey::generate();
        let active = ApiKeyRecord::new(&key, "acct_1", 1000);
        let rolled = ApiKeyRecord { expires_at: Some(5000), last_used: Some(1060), ..active.clone() };
        let expired = ApiKeyRecord { expires_at: Some(2000), ..active.clone() };
        let revoked = ApiKeyRecord { revoked_at: Some(3000), ..active.clone() };
        let out = table(&[active.clone(), rolled, expired, revoked], 4000);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 5, "{out}");
        assert!(lines[0].starts_with("ID") && lines[0].contains("LAST USED"), "{out}");
        assert!(
            lines[1].contains(&active.id) && lines[1].contains(&active.shown()) && lines[1].contains("never")
        );
        assert!(lines[1].ends_with("active"), "{out}");
        assert!(
            lines[2].contains("1970-01-01 00:17:40 UTC")
                && lines[2].ends_with("active, expires 1970-01-01 01:23:20 UTC")
        );
        assert!(lines[3].ends_with("expired 1970-01-01 00:33:20 UTC"), "{out}");
        assert!(lines[4].ends_with("revoked 1970-01-01 00:50:00 UTC"), "{out}");
        let column = lines[0].find("KEY").unwrap();
        assert!(lines[1..].iter().all(|l| l[column..].starts_with("sk_test_")), "{out}");
    }
}
