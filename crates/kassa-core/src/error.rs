//! The domain's error: what was wrong with a request, precisely enough to become a Stripe-shaped
//! error body (`code`, `param` in bracket form, a human message) without the core knowing HTTP.

use std::fmt;

/// Stripe's error codes that kassa emits. `as_str` is the wire value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    ParameterMissing,
    ParameterUnknown,
    ParameterInvalidEmpty,
    ParameterInvalidInteger,
    ParametersExclusive,
    /// A value of the right type that breaks a rule (range, enum, format). Not a Stripe code
    /// name; Stripe often sends no code at all for these. Documented in docs/stripe-compatibility.md.
    ParameterInvalid,
    ResourceMissing,
    UrlInvalid,
    AmountTooLarge,
    CouponExpired,
    PromotionCodeInvalid,
    ResourceAlreadyExists,
    TaxIdInvalid,
    /// A refund of a charge that has nothing left to refund.
    ChargeAlreadyRefunded,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ParameterMissing => "parameter_missing",
            Self::ParameterUnknown => "parameter_unknown",
            Self::ParameterInvalidEmpty => "parameter_invalid_empty",
            Self::ParameterInvalidInteger => "parameter_invalid_integer",
            Self::ParametersExclusive => "parameters_exclusive",
            Self::ParameterInvalid => "parameter_invalid",
            Self::ResourceMissing => "resource_missing",
            Self::UrlInvalid => "url_invalid",
            Self::AmountTooLarge => "amount_too_large",
            Self::CouponExpired => "coupon_expired",
            Self::PromotionCodeInvalid => "promotion_code_invalid",
            Self::ResourceAlreadyExists => "resource_already_exists",
            Self::TaxIdInvalid => "tax_id_invalid",
            Self::ChargeAlreadyRefunded => "charge_already_refunded",
        }
    }
}

/// A request parameter broke a rule: a 400 `invalid_request_error`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    pub code: ErrorCode,
    /// The offending parameter in bracket form, e.g. `line_items[3][adjustable_quantity][maximum]`.
    pub param: Option<String>,
    pub message: String,
}

impl Invalid {
    pub fn new(code: ErrorCode, param: impl Into<String>, message: impl Into<String>) -> Self {
        Self { code, param: Some(param.into()), message: message.into() }
    }

    /// A value that breaks a rule, on `param`.
    pub fn param(param: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(ErrorCode::ParameterInvalid, param, message)
    }

    pub fn missing(param: impl Into<String>) -> Self {
        let param = param.into();
        let message = format!("Missing required param: {param}.");
        Self { code: ErrorCode::ParameterMissing, param: Some(param), message }
    }

    /// An empty string for a parameter that cannot be unset. Stripe reads `param=` as "unset
    /// this"; where that means nothing it answers exactly this (the SDKs send `null` so).
    pub fn empty(param: impl Into<String>) -> Self {
        let param = param.into();
        let message = format!(
            "You passed an empty string for '{param}'. We assume empty values are an attempt to unset a parameter; however '{param}' cannot be unset. You should remove '{param}' from your request or supply a non-empty value."
        );
        Self { code: ErrorCode::ParameterInvalidEmpty, param: Some(param), message }
    }

    pub fn exclusive(a: &str, b: &str) -> Self {
        Self::new(
            ErrorCode::ParametersExclusive,
            b,
            format!("You may only specify one of these parameters: {a}, {b}."),
        )
    }

    /// A referenced object (in a body parameter) that does not exist in this account.
    pub fn no_such(object: &str, id: &str, param: impl Into<String>) -> Self {
        Self::new(ErrorCode::ResourceMissing, param, format!("No such {object}: '{}'", shown(id)))
    }

    /// A rule about the request as a whole, tied to no single parameter.
    pub fn general(message: impl Into<String>) -> Self {
        Self { code: ErrorCode::ParameterInvalid, param: None, message: message.into() }
    }
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// What the domain can answer instead of a result.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// Bad parameters: 400.
    #[error("{0}")]
    Invalid(Invalid),
    /// The object named in the path does not exist in this account: 404.
    #[error("No such {object}: '{}'", shown(id))]
    NotFound { object: &'static str, id: String },
    /// The request is well-formed but the object's state forbids it (expiring a completed
    /// session): 400 without a parameter.
    #[error("{0}")]
    State(String),
}

impl From<Invalid> for Error {
    fn from(value: Invalid) -> Self {
        Self::Invalid(value)
    }
}

/// An id as an error message repeats it: at most 200 characters, so that a huge id in a request
/// does not come back as a huge error.
pub fn shown(id: &str) -> String {
    let mut out: String = id.chars().take(200).collect();
    if out.len() < id.len() {
        out.push('…');
    }
    out
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn huge_ids_are_cut_in_messages() {
        let id = "x".repeat(900_000);
        let e = Invalid::no_such("price", &id, "line_items[0][price]");
        assert!(e.message.len() < 300, "{}", e.message.len());
        assert!(e.message.ends_with("…'"));
        let e = Error::NotFound { object: "product", id: id.clone() };
        assert!(e.to_string().len() < 300);
        assert_eq!(shown("prod_1"), "prod_1");
    }
}
