//! Step 8 — the redirect URLs (SPEC §5 `success_url`, `cancel_url`).
//!
//! Each, when given, is an absolute http(s) URL of at most [`MAX_URL_LEN`] characters, checked by
//! [`check_url`] (which webhook endpoints and `kassa listen` use too): `success_url` first. The
//! text is kept exactly as given, so `{CHECKOUT_SESSION_ID}` survives for the redirect.

use super::MAX_URL_LEN;
use crate::error::{ErrorCode, Invalid};

pub(super) fn urls(success_url: Option<&str>, cancel_url: Option<&str>) -> Result<(), Invalid> {
    if let Some(u) = success_url {
        check_url("success_url", u)?;
    }
    if let Some(u) = cancel_url {
        check_url("cancel_url", u)?;
    }
    Ok(())
}

/// An absolute http(s) URL of at most 5000 characters with a host and no whitespace or control
/// characters. The text is kept exactly as given (so `{CHECKOUT_SESSION_ID}` survives).
pub fn check_url(param: &str, url: &str) -> Result<(), Invalid> {
    if url.chars().count() > MAX_URL_LEN {
        return Err(Invalid::new(
            ErrorCode::UrlInvalid,
            param,
            format!("Invalid URL: URL must be {MAX_URL_LEN} characters or less."),
        ));
    }
    let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    let rest = if lower.starts_with("https://") {
        &url[8..]
    } else if lower.starts_with("http://") {
        &url[7..]
    } else {
        return Err(Invalid::new(
            ErrorCode::UrlInvalid,
            param,
            "Not a valid URL: use an absolute http:// or https:// URL.",
        ));
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = authority.rsplit('@').next().unwrap_or_default();
    let host_ok = !host.is_empty()
        && !host.starts_with(':')
        && host.chars().all(|c| c.is_ascii_alphanumeric() || "-._:[]".contains(c) || !c.is_ascii());
    let clean = !url.chars().any(|c| c.is_whitespace() || c.is_control());
    if host_ok && clean {
        Ok(())
    } else {
        Err(Invalid::new(ErrorCode::UrlInvalid, param, "Not a valid URL."))
    }
}
