//! Step 8 — the redirect URLs (`success_url`, `cancel_url`).
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

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::check_url;
    use crate::error::ErrorCode;
    use crate::params::SessionCreate;

    fn with_urls(success: Option<&str>, cancel: Option<&str>) -> SessionCreate {
        SessionCreate {
            success_url: success.map(str::to_owned),
            cancel_url: cancel.map(str::to_owned),
            ..buy("price_usd", 1)
        }
    }

    const NOT_ABSOLUTE: &str = "Not a valid URL: use an absolute http:// or https:// URL.";

    #[test]
    fn success_url_must_be_absolute_http() {
        for bad in ["ftp://shop.example/", "/thanks", "shop.example/thanks", "javascript:alert(1)", ""] {
            let m =
                refused(Fx::new().create(with_urls(Some(bad), None)), ErrorCode::UrlInvalid, "success_url");
            assert_eq!(m, NOT_ABSOLUTE, "{bad}");
        }
        for bad in
            ["https://", "https:///path", "https://:443/", "https://shop example/", "https://shop.example/\n"]
        {
            let m =
                refused(Fx::new().create(with_urls(Some(bad), None)), ErrorCode::UrlInvalid, "success_url");
            assert_eq!(m, "Not a valid URL.", "{bad:?}");
        }
        for good in [
            "https://shop.example/thanks",
            "http://localhost:3000/ok",
            "HTTPS://Shop.Example",
            "https://u@[::1]:8080/x",
        ] {
            let s = Fx::new().ok(with_urls(Some(good), None));
            assert_eq!(s.success_url.as_deref(), Some(good));
        }
    }

    #[test]
    fn cancel_url_must_be_absolute_http() {
        let m = refused(
            Fx::new().create(with_urls(None, Some("mailto:a@b.c"))),
            ErrorCode::UrlInvalid,
            "cancel_url",
        );
        assert_eq!(m, NOT_ABSOLUTE);
        let s = Fx::new().ok(with_urls(None, Some("https://shop.example/cart")));
        assert_eq!(s.cancel_url.as_deref(), Some("https://shop.example/cart"));
    }

    #[test]
    fn urls_at_most_5000_characters() {
        let at_limit = format!("https://shop.example/{}", "a".repeat(5000 - 21));
        assert_eq!(at_limit.chars().count(), 5000);
        assert!(Fx::new().create(with_urls(Some(&at_limit), Some(&at_limit))).is_ok());
        let over = format!("{at_limit}a");
        for (success, cancel, param) in
            [(Some(&*over), None, "success_url"), (None, Some(&*over), "cancel_url")]
        {
            let m = refused(Fx::new().create(with_urls(success, cancel)), ErrorCode::UrlInvalid, param);
            assert_eq!(m, "Invalid URL: URL must be 5000 characters or less.");
        }
        // Characters, not bytes.
        let wide = format!("https://shop.example/{}", "é".repeat(5000 - 21));
        assert!(check_url("success_url", &wide).is_ok());
    }

    #[test]
    fn success_url_keeps_checkout_session_id_placeholder() {
        let url = "https://shop.example/done?session={CHECKOUT_SESSION_ID}";
        assert_eq!(Fx::new().ok(with_urls(Some(url), None)).success_url.as_deref(), Some(url));
    }

    #[test]
    fn without_success_url_none_is_kept() {
        let s = Fx::new().ok(with_urls(None, None));
        assert_eq!((s.success_url, s.cancel_url), (None, None));
    }

    #[test]
    fn success_url_checked_before_cancel_url() {
        refused(
            Fx::new().create(with_urls(Some("ftp://a"), Some("ftp://b"))),
            ErrorCode::UrlInvalid,
            "success_url",
        );
    }
}
