//! The built-in test payment network and the [`PaymentProcessor`] port.
//!
//! # What is parsed where
//!
//! The hosted form posts three strings: the card number, the expiry (`MM/YY`) and the CVC.
//! [`validate_card`] turns them into a [`ValidCard`] — or into one [`FieldError`] per bad field, all
//! at once, so that the page can mark every problem in one round trip. Past that edge nothing
//! handles card strings: a [`CardNumber`] is known to be 12–19 digits and Luhn-valid, an [`Expiry`]
//! to be a real month that has not ended, a [`Cvc`] to be 3–4 digits. A [`PaymentProcessor`] only
//! ever receives a `ValidCard`, so a malformed card cannot reach the network.
//!
//! # Why the number stays inside [`CardNumber`]
//!
//! The card number and the CVC are never stored or logged. So
//! `CardNumber` has no `Display`, no `Serialize` and a `Debug` that shows `CardNumber(****)`, no
//! digit of the number at all;
//! the digits come out only through the private `expose_digits`, which this module calls in exactly
//! two places: the test card table lookup and the fingerprint. What leaves this module about a
//! card is [`CardDetails`] (brand, last 4, expiry, fingerprint), the same subset Stripe exposes.
//! The [`Cvc`] goes further and does not keep the code at all, only how many digits it had: the test
//! network has no issuer to compare it with, and what is not kept cannot leak.
//!
//! # The fingerprint is keyed
//!
//! The fingerprint is an HMAC-SHA256, keyed with the installation's [`FingerprintKey`], over a
//! domain-separation prefix, the account id and the digits, cut to 16 hex characters: stable for
//! one number within one account of one installation, unrelated across accounts and across
//! installations. It must be keyed: a card number has little entropy (a known prefix, a Luhn
//! digit, often known last four), so an unkeyed hash of it is reversed by trying the candidates —
//! `4242424242424242` fell out of the former unkeyed SHA-256 after 42,000 guesses, in 1.6 s.
//! Without the key, which never enters the database, a fingerprint read from the database, a
//! backup or the API says nothing about the number. The key is the installation's, not the
//! account's, so whoever holds it (the operator) could still test guesses; it keeps the numbers
//! from everyone who only holds data. Stripe's fingerprints are keyed in the same spirit.
//!
//! # 3-D Secure without storing the card
//!
//! A challenge happens across requests: the payment attempt answers
//! [`CardAttempt::RequiresAction`], the customer is sent to the challenge page, and only later
//! presses "complete" or "fail". The card number is gone by then. So the network decides *at attempt
//! time* what passing the challenge will lead to and writes it into the [`Challenge`]
//! ([`ChallengeResult::Succeed`] or [`ChallengeResult::Decline`]); the caller stores that
//! serializable value on the pending payment intent and hands it back to
//! [`PaymentProcessor::resolve_challenge`]. Likewise [`PaymentProcessor::saved_behaviour`] distils
//! what later off-session charges of a saved card will do into a [`SavedBehaviour`] that is stored
//! on the payment method instead of the number.
//!
//! The test network ignores amounts and currencies: outcomes depend on the card alone, as in
//! Stripe's test mode.

use std::fmt;

use async_trait::async_trait;
use hmac::{KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::money::Currency;

/// What kassa keeps of a card: never the number or the CVC.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardDetails {
    /// `visa`, `mastercard`, `amex`, `discover`, `diners`, `jcb`, `unionpay` or `unknown`.
    pub brand: String,
    pub last4: String,
    pub exp_month: u32,
    pub exp_year: u32,
    /// Stable for the same number within one account of one installation, different across
    /// accounts and installations (see [`FingerprintKey`]).
    pub fingerprint: String,
}

// ---------------------------------------------------------------------------------------------
// Field errors
// ---------------------------------------------------------------------------------------------

/// Which input of the card form a [`FieldError`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CardField {
    Number,
    Expiry,
    Cvc,
}

impl CardField {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Number => "number",
            Self::Expiry => "expiry",
            Self::Cvc => "cvc",
        }
    }
}

/// A problem with one field of the card form, worded for the customer. Never contains the input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{message}")]
pub struct FieldError {
    pub field: CardField,
    pub message: String,
}

impl FieldError {
    fn new(field: CardField, message: &str) -> Self {
        Self { field, message: message.to_owned() }
    }
}

const NUMBER_INVALID: &str = "Your card number is invalid.";
const NUMBER_INCOMPLETE: &str = "Your card number is incomplete.";
const EXPIRY_INCOMPLETE: &str = "Your card's expiration date is incomplete.";
const EXPIRY_INVALID: &str = "Your card's expiration date is invalid.";
const EXPIRY_MONTH_INVALID: &str = "Your card's expiration month is invalid.";
const EXPIRY_YEAR_INVALID: &str = "Your card's expiration year is invalid.";
const EXPIRY_PAST: &str = "Your card's expiration date is in the past.";
const CVC_INVALID: &str = "Your card's security code is invalid.";
const CVC_INCOMPLETE: &str = "Your card's security code is incomplete.";

/// Longer inputs are refused before any work is done on them.
const MAX_INPUT_LEN: usize = 64;

// ---------------------------------------------------------------------------------------------
// Card number
// ---------------------------------------------------------------------------------------------

/// A card number: 12–19 digits, Luhn-valid. Its `Debug` shows only the last four digits; it has no
/// `Display` and no `Serialize`, and the full number is readable only inside this module.
pub struct CardNumber(String);

impl CardNumber {
    /// Parse what the customer typed: spaces and dashes are ignored; anything else that is not a
    /// digit makes the number invalid.
    pub fn parse(input: &str) -> Result<Self, FieldError> {
        let invalid = || FieldError::new(CardField::Number, NUMBER_INVALID);
        if input.len() > MAX_INPUT_LEN {
            return Err(invalid());
        }
        let mut digits = String::with_capacity(19);
        for c in input.chars() {
            if c.is_ascii_digit() {
                digits.push(c);
            } else if c != '-' && !c.is_whitespace() {
                return Err(invalid());
            }
        }
        if digits.len() < 12 {
            return Err(FieldError::new(CardField::Number, NUMBER_INCOMPLETE));
        }
        if digits.len() > 19 || !luhn_valid(&digits) {
            return Err(invalid());
        }
        Ok(Self(digits))
    }

    /// The last four digits, as shown on receipts.
    pub fn last4(&self) -> &str {
        // At least 12 ASCII digits, so the slice is on a character boundary.
        &self.0[self.0.len() - 4..]
    }

    /// The card brand, from the number's prefix.
    pub fn brand(&self) -> Brand {
        Brand::detect(&self.0)
    }

    /// The full digits. Deliberately private and deliberately named: called only for the test card
    /// table lookup and the fingerprint.
    fn expose_digits(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for CardNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Not even the last four digits: a `Debug` of anything that holds a card shows no digit of
        // its number (the last four are on the records, where they belong).
        f.write_str("CardNumber(****)")
    }
}

/// The Luhn checksum over ASCII digits (non-digits make it fail).
fn luhn_valid(digits: &str) -> bool {
    let mut sum = 0u32;
    for (i, b) in digits.bytes().rev().enumerate() {
        if !b.is_ascii_digit() {
            return false;
        }
        let mut d = u32::from(b - b'0');
        if i % 2 == 1 {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
    }
    sum.is_multiple_of(10)
}

/// A card brand, detected from the number's prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Brand {
    Visa,
    Mastercard,
    Amex,
    Discover,
    Diners,
    Jcb,
    Unionpay,
    Unknown,
}

impl Brand {
    /// Stripe's brand string.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Visa => "visa",
            Self::Mastercard => "mastercard",
            Self::Amex => "amex",
            Self::Discover => "discover",
            Self::Diners => "diners",
            Self::Jcb => "jcb",
            Self::Unionpay => "unionpay",
            Self::Unknown => "unknown",
        }
    }

    fn detect(digits: &str) -> Self {
        let prefix = |n: usize| -> u32 { digits.get(..n).and_then(|p| p.parse().ok()).unwrap_or(0) };
        let (p1, p2, p3, p4) = (prefix(1), prefix(2), prefix(3), prefix(4));
        if p1 == 4 {
            Self::Visa
        } else if (51..=55).contains(&p2) || (2221..=2720).contains(&p4) {
            Self::Mastercard
        } else if p2 == 34 || p2 == 37 {
            Self::Amex
        } else if p4 == 6011 || p2 == 65 || (644..=649).contains(&p3) {
            Self::Discover
        } else if p2 == 36 || p2 == 38 || (300..=305).contains(&p3) {
            Self::Diners
        } else if (3528..=3589).contains(&p4) {
            Self::Jcb
        } else if p2 == 62 {
            Self::Unionpay
        } else {
            Self::Unknown
        }
    }
}

impl fmt::Display for Brand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

// ---------------------------------------------------------------------------------------------
// CVC
// ---------------------------------------------------------------------------------------------

/// A card security code that had 3 or 4 digits. Only its length is kept: the test network has no
/// issuer to check it against, so the code itself is dropped as soon as it is validated.
pub struct Cvc {
    digits: u8,
}

impl Cvc {
    pub fn parse(input: &str) -> Result<Self, FieldError> {
        let code = input.trim();
        if code.is_empty() {
            return Err(FieldError::new(CardField::Cvc, CVC_INCOMPLETE));
        }
        if !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(FieldError::new(CardField::Cvc, CVC_INVALID));
        }
        match code.len() {
            1 | 2 => Err(FieldError::new(CardField::Cvc, CVC_INCOMPLETE)),
            3 => Ok(Self { digits: 3 }),
            4 => Ok(Self { digits: 4 }),
            _ => Err(FieldError::new(CardField::Cvc, CVC_INVALID)),
        }
    }

    /// 3 or 4.
    pub fn digit_count(&self) -> usize {
        usize::from(self.digits)
    }
}

impl fmt::Debug for Cvc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Cvc(***)")
    }
}

// ---------------------------------------------------------------------------------------------
// Expiry
// ---------------------------------------------------------------------------------------------

/// How far ahead an expiry may be before it is taken for a typo.
const MAX_YEARS_AHEAD: u32 = 50;

/// A card's expiry month, valid through the last second of that month in UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expiry {
    month: u32,
    year: u32,
}

impl Expiry {
    /// Parse `MM/YY`, `MM / YY`, `M/YY`, `MM/YYYY`, `MMYY` or `MMYYYY` (a `-` may stand for the
    /// `/`), and refuse a month that ended before `now` (Unix seconds).
    pub fn parse(input: &str, now: i64) -> Result<Self, FieldError> {
        let err = |m: &str| FieldError::new(CardField::Expiry, m);
        if input.len() > MAX_INPUT_LEN {
            return Err(err(EXPIRY_INVALID));
        }
        let compact: String = input.chars().filter(|c| !c.is_whitespace()).collect();
        if compact.is_empty() {
            return Err(err(EXPIRY_INCOMPLETE));
        }
        let (month_text, year_text) = match compact.split_once(['/', '-']) {
            Some(parts) => parts,
            None => {
                if !compact.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(err(EXPIRY_INVALID));
                }
                match compact.len() {
                    0..=3 => return Err(err(EXPIRY_INCOMPLETE)),
                    4 | 6 => compact.split_at(2),
                    _ => return Err(err(EXPIRY_INVALID)),
                }
            }
        };
        let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if !all_digits(month_text) || !all_digits(year_text) {
            return Err(err(EXPIRY_INVALID));
        }
        if month_text.is_empty() {
            return Err(err(EXPIRY_INCOMPLETE));
        }
        if month_text.len() > 2 {
            return Err(err(EXPIRY_INVALID));
        }
        let year = match year_text.len() {
            2 => 2000 + year_text.parse::<u32>().map_err(|_| err(EXPIRY_INVALID))?,
            4 => year_text.parse::<u32>().map_err(|_| err(EXPIRY_INVALID))?,
            0 | 1 | 3 => return Err(err(EXPIRY_INCOMPLETE)),
            _ => return Err(err(EXPIRY_INVALID)),
        };
        let month: u32 = month_text.parse().map_err(|_| err(EXPIRY_INVALID))?;
        if !(1..=12).contains(&month) {
            return Err(err(EXPIRY_MONTH_INVALID));
        }
        let expiry = Self { month, year };
        if expiry.is_past(now) {
            return Err(err(EXPIRY_PAST));
        }
        let (now_year, _) = year_month(now);
        if i64::from(year) > now_year + i64::from(MAX_YEARS_AHEAD) {
            return Err(err(EXPIRY_YEAR_INVALID));
        }
        Ok(expiry)
    }

    /// 1–12.
    pub fn month(&self) -> u32 {
        self.month
    }

    /// Four digits, e.g. `2030`.
    pub fn year(&self) -> u32 {
        self.year
    }

    /// Whether the expiry month ended before `now` (Unix seconds, UTC).
    pub fn is_past(&self, now: i64) -> bool {
        let (now_year, now_month) = year_month(now);
        (i64::from(self.year), self.month) < (now_year, now_month)
    }
}

/// The UTC calendar year and month (1–12) of a Unix timestamp, by Howard Hinnant's
/// `civil_from_days` algorithm (proleptic Gregorian calendar, any `i64` second).
fn year_month(unix_seconds: i64) -> (i64, u32) {
    let days = unix_seconds.div_euclid(86_400);
    let z = days + 719_468; // days since 0000-03-01
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097; // [0, 146096]
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365], from March 1st
    let mp = (5 * doy + 2) / 153; // [0, 11], March = 0
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    // `month` is in 1..=12 by construction.
    (year, u32::try_from(month).unwrap_or(1))
}

// ---------------------------------------------------------------------------------------------
// The validated card
// ---------------------------------------------------------------------------------------------

/// A card whose number, expiry and CVC have passed the form checks. `Debug` is safe to log.
#[derive(Debug)]
pub struct ValidCard {
    number: CardNumber,
    expiry: Expiry,
    cvc: Cvc,
}

/// Check the three card fields from the hosted form, reporting every bad field at once.
/// `now` is Unix seconds, against which the expiry is judged.
pub fn validate_card(number: &str, expiry: &str, cvc: &str, now: i64) -> Result<ValidCard, Vec<FieldError>> {
    let number = CardNumber::parse(number);
    let expiry = Expiry::parse(expiry, now);
    let cvc = Cvc::parse(cvc);
    match (number, expiry, cvc) {
        (Ok(number), Ok(expiry), Ok(cvc)) => Ok(ValidCard { number, expiry, cvc }),
        (number, expiry, cvc) => Err([number.err(), expiry.err(), cvc.err()].into_iter().flatten().collect()),
    }
}

impl ValidCard {
    pub fn number(&self) -> &CardNumber {
        &self.number
    }

    pub fn expiry(&self) -> Expiry {
        self.expiry
    }

    pub fn cvc(&self) -> &Cvc {
        &self.cvc
    }

    pub fn brand(&self) -> Brand {
        self.number.brand()
    }

    pub fn last4(&self) -> &str {
        self.number.last4()
    }

    /// What may be kept of this card, with a fingerprint keyed with the installation's `key`
    /// and scoped to `account_id`.
    pub fn details(&self, key: &FingerprintKey, account_id: &str) -> CardDetails {
        CardDetails {
            brand: self.brand().as_str().to_owned(),
            last4: self.last4().to_owned(),
            exp_month: self.expiry.month,
            exp_year: self.expiry.year,
            fingerprint: fingerprint(key, account_id, &self.number),
        }
    }
}

/// The installation's secret that keys card fingerprints (see the [module docs](self)): given by
/// the operator (`KASSA_FINGERPRINT_KEY`) or generated on first start and kept in a file beside
/// the database, never in it. Its `Debug` shows nothing of it; it has no `Display` and no
/// `Serialize`.
#[derive(Clone, PartialEq, Eq)]
pub struct FingerprintKey(String);

impl FingerprintKey {
    /// The fewest characters a key may have.
    pub const MIN_LEN: usize = 32;

    /// A new random key: 48 base62 characters, about 285 bits.
    pub fn generate() -> Self {
        Self(crate::ids::random_base62(48))
    }

    /// A key given by the operator, or read back from its file: surrounding whitespace (a file's
    /// final newline) is ignored; the rest must be at least [`Self::MIN_LEN`] printable ASCII
    /// characters without spaces (`openssl rand -hex 32` makes one). The error never contains
    /// the text.
    pub fn parse(text: &str) -> Result<Self, String> {
        let key = text.trim();
        if !key.bytes().all(|b| b.is_ascii_graphic()) {
            return Err("a card fingerprint key must be printable ASCII characters without spaces".to_owned());
        }
        if key.len() < Self::MIN_LEN {
            return Err(format!(
                "a card fingerprint key must have at least {} characters, this one has {} \
                 (`openssl rand -hex 32` makes one)",
                Self::MIN_LEN,
                key.len()
            ));
        }
        Ok(Self(key.to_owned()))
    }

    /// The key as text, to be written to its file.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for FingerprintKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FingerprintKey(****)")
    }
}

/// Domain separation for the fingerprint, so that it can never collide with another MAC kassa
/// computes (webhook signatures, …). v2: keyed; v1 was an unkeyed SHA-256.
const FINGERPRINT_DOMAIN: &[u8] = b"kassa card fingerprint v2\0";

fn fingerprint(key: &FingerprintKey, account_id: &str, number: &CardNumber) -> String {
    let mut mac = match <hmac::Hmac<Sha256> as KeyInit>::new_from_slice(key.0.as_bytes()) {
        Ok(m) => m,
        Err(_) => unreachable!("HMAC accepts keys of every length"),
    };
    mac.update(FINGERPRINT_DOMAIN);
    mac.update(account_id.as_bytes());
    // Account ids never contain NUL, so (account, digits) pairs cannot run into each other.
    mac.update(&[0u8]);
    mac.update(number.expose_digits().as_bytes());
    let digest = mac.finalize().into_bytes();
    let mut hex = String::with_capacity(16);
    for b in digest.iter().take(8) {
        hex.push_str(&format!("{b:02x}"));
    }
    hex
}

// ---------------------------------------------------------------------------------------------
// Outcomes
// ---------------------------------------------------------------------------------------------

/// Why a payment failed, shaped like Stripe's `last_payment_error` / card error: `code` is one of
/// `card_declined`, `expired_card`, `incorrect_cvc`, `processing_error` or
/// `payment_intent_authentication_failure`; `decline_code` refines `card_declined` (and mirrors the
/// code for the others, as Stripe does); `message` is for the customer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{message}")]
pub struct Decline {
    pub code: String,
    pub decline_code: Option<String>,
    pub message: String,
}

/// The reasons the test network declines for; each becomes a [`Decline`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reason {
    Generic,
    InsufficientFunds,
    LostCard,
    StolenCard,
    ExpiredCard,
    IncorrectCvc,
    ProcessingError,
    NotATestCard,
    AuthenticationFailure,
}

impl Reason {
    fn decline(self) -> Decline {
        let (code, decline_code, message) = match self {
            Self::Generic => ("card_declined", Some("generic_decline"), "Your card was declined."),
            Self::InsufficientFunds => {
                ("card_declined", Some("insufficient_funds"), "Your card has insufficient funds.")
            }
            Self::LostCard => ("card_declined", Some("lost_card"), "Your card was declined."),
            Self::StolenCard => ("card_declined", Some("stolen_card"), "Your card was declined."),
            Self::ExpiredCard => ("expired_card", Some("expired_card"), "Your card has expired."),
            Self::IncorrectCvc => {
                ("incorrect_cvc", Some("incorrect_cvc"), "Your card's security code is incorrect.")
            }
            Self::ProcessingError => (
                "processing_error",
                Some("processing_error"),
                "An error occurred while processing your card. Try again in a little bit.",
            ),
            Self::NotATestCard => (
                "card_declined",
                Some("test_mode_live_card"),
                "Your card was declined. kassa's test network only accepts test card numbers.",
            ),
            Self::AuthenticationFailure => (
                "payment_intent_authentication_failure",
                None,
                "We are unable to authenticate your payment method. Please choose a different \
                 payment method and try again.",
            ),
        };
        Decline {
            code: code.to_owned(),
            decline_code: decline_code.map(str::to_owned),
            message: message.to_owned(),
        }
    }
}

/// The outcome of a card payment attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CardAttempt {
    Succeeded,
    Declined(Decline),
    /// The customer must pass a 3-D Secure challenge; store the [`Challenge`] on the pending
    /// payment intent and pass it to [`PaymentProcessor::resolve_challenge`] afterwards.
    RequiresAction(Challenge),
}

/// A pending 3-D Secure challenge: what passing it will lead to, decided when the card was
/// presented, so that the card itself need not be kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Challenge {
    on_pass: ChallengeResult,
}

impl Challenge {
    /// What happens when the customer completes the challenge.
    pub fn on_pass(&self) -> &ChallengeResult {
        &self.on_pass
    }
}

/// What a passed challenge leads to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum ChallengeResult {
    Succeed,
    Decline(Decline),
}

/// How later off-session charges of a saved payment method behave: kept on the payment method in
/// place of the card number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "behaviour", rename_all = "snake_case")]
pub enum SavedBehaviour {
    /// Every off-session charge succeeds.
    Succeeds,
    /// The card worked with the customer present, but every off-session charge is declined
    /// (`card_declined` / `generic_decline`): `4000000000000341`.
    FailsOffSession,
    /// Every charge is declined this way (a declining card saved without a charge, e.g. for a
    /// trial).
    Declines(Decline),
    /// A PayPal billing agreement: off-session charges succeed.
    Paypal,
}

// ---------------------------------------------------------------------------------------------
// The processor port and the test network
// ---------------------------------------------------------------------------------------------

/// A payment network kassa can charge. The test network is the only one; the trait keeps the
/// services independent of it.
#[async_trait]
pub trait PaymentProcessor: Send + Sync + 'static {
    /// A short name for logs and the `payment_method_details`, e.g. `test`.
    fn name(&self) -> &'static str;

    /// Charge a card with the customer present (at checkout).
    async fn pay_card(&self, card: &ValidCard, amount: i64, currency: Currency) -> CardAttempt;

    /// What [`pay_card`](Self::pay_card) answers, when the processor knows it at once, without
    /// waiting on anything (no network, no timer): the payment is then decided and recorded in
    /// the transaction that claims the session. `None` (the default) for a processor that must
    /// be waited for: the session is claimed, the card charged, then the outcome recorded.
    fn pay_card_now(&self, _card: &ValidCard, _amount: i64, _currency: Currency) -> Option<CardAttempt> {
        None
    }

    /// Finish a 3-D Secure challenge: `passed` is whether the customer completed it.
    fn resolve_challenge(&self, challenge: &Challenge, passed: bool) -> CardAttempt;

    /// What later off-session charges of this card will do, to store with the payment method.
    fn saved_behaviour(&self, card: &ValidCard) -> SavedBehaviour;

    /// Charge a saved payment method without the customer (renewals, retries).
    async fn charge_saved(
        &self,
        behaviour: &SavedBehaviour,
        amount: i64,
        currency: Currency,
    ) -> Result<(), Decline>;
}

/// What a test card number does, per Stripe's test card list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TestCard {
    Succeeds,
    /// Succeeds with the customer present; later off-session charges are declined.
    SucceedsThenFailsOffSession,
    Declines(Reason),
    /// Asks for 3-D Secure; once passed, succeeds (`None`) or declines.
    ThreeDSecure(Option<Reason>),
}

/// The test card table. Any other valid number is declined as not a test card.
const TEST_CARDS: &[(&str, TestCard)] = &[
    // SPEC §7.
    ("4242424242424242", TestCard::Succeeds),
    ("5555555555554444", TestCard::Succeeds),
    ("4000000000000002", TestCard::Declines(Reason::Generic)),
    ("4000000000009995", TestCard::Declines(Reason::InsufficientFunds)),
    ("4000000000000069", TestCard::Declines(Reason::ExpiredCard)),
    ("4000000000000127", TestCard::Declines(Reason::IncorrectCvc)),
    ("4000000000000119", TestCard::Declines(Reason::ProcessingError)),
    ("4000002760003184", TestCard::ThreeDSecure(None)),
    ("4000008260003178", TestCard::ThreeDSecure(Some(Reason::InsufficientFunds))),
    ("4000000000000341", TestCard::SucceedsThenFailsOffSession),
    // Stripe's other declines.
    ("4000000000009987", TestCard::Declines(Reason::LostCard)),
    ("4000000000009979", TestCard::Declines(Reason::StolenCard)),
    // The CVC is always entered on kassa's form, so this card's CVC check always fails.
    ("4000000000000101", TestCard::Declines(Reason::IncorrectCvc)),
    // Stripe's other 3-D Secure cards (all authenticated once at checkout).
    ("4000000000003220", TestCard::ThreeDSecure(None)),
    ("4000002500003155", TestCard::ThreeDSecure(None)),
    ("4000008400001629", TestCard::ThreeDSecure(Some(Reason::Generic))),
    // Stripe's success cards by brand (kassa has no disputes, so 0259 simply succeeds).
    ("4000000000003055", TestCard::Succeeds),
    ("4000000000000259", TestCard::Succeeds),
    ("4000056655665556", TestCard::Succeeds),
    ("2223003122003222", TestCard::Succeeds),
    ("5200828282828210", TestCard::Succeeds),
    ("5105105105105100", TestCard::Succeeds),
    ("378282246310005", TestCard::Succeeds),
    ("371449635398431", TestCard::Succeeds),
    ("6011111111111117", TestCard::Succeeds),
    ("6011000990139424", TestCard::Succeeds),
    ("3056930009020004", TestCard::Succeeds),
    ("36227206271667", TestCard::Succeeds),
    ("3566002020360505", TestCard::Succeeds),
    ("6200000000000005", TestCard::Succeeds),
];

fn lookup(number: &CardNumber) -> TestCard {
    let digits = number.expose_digits();
    TEST_CARDS
        .iter()
        .find(|(n, _)| *n == digits)
        .map_or(TestCard::Declines(Reason::NotATestCard), |&(_, card)| card)
}

/// What paying with `card` does on the test network.
fn attempt(card: &ValidCard) -> CardAttempt {
    match lookup(&card.number) {
        TestCard::Succeeds | TestCard::SucceedsThenFailsOffSession => CardAttempt::Succeeded,
        TestCard::Declines(reason) => CardAttempt::Declined(reason.decline()),
        TestCard::ThreeDSecure(then) => CardAttempt::RequiresAction(Challenge {
            on_pass: match then {
                None => ChallengeResult::Succeed,
                Some(reason) => ChallengeResult::Decline(reason.decline()),
            },
        }),
    }
}

/// kassa's built-in test network: outcomes follow the test card table; nothing leaves the process.
#[derive(Debug, Default, Clone, Copy)]
pub struct TestNetwork;

#[async_trait]
impl PaymentProcessor for TestNetwork {
    fn name(&self) -> &'static str {
        "test"
    }

    async fn pay_card(&self, card: &ValidCard, _amount: i64, _currency: Currency) -> CardAttempt {
        attempt(card)
    }

    /// The test network decides in the process, from the card number alone.
    fn pay_card_now(&self, card: &ValidCard, _amount: i64, _currency: Currency) -> Option<CardAttempt> {
        Some(attempt(card))
    }

    fn resolve_challenge(&self, challenge: &Challenge, passed: bool) -> CardAttempt {
        if !passed {
            return CardAttempt::Declined(Reason::AuthenticationFailure.decline());
        }
        match &challenge.on_pass {
            ChallengeResult::Succeed => CardAttempt::Succeeded,
            ChallengeResult::Decline(decline) => CardAttempt::Declined(decline.clone()),
        }
    }

    fn saved_behaviour(&self, card: &ValidCard) -> SavedBehaviour {
        match lookup(&card.number) {
            // A 3-D Secure card authenticated at checkout is set up for off-session use.
            TestCard::Succeeds | TestCard::ThreeDSecure(None) => SavedBehaviour::Succeeds,
            TestCard::SucceedsThenFailsOffSession => SavedBehaviour::FailsOffSession,
            TestCard::Declines(reason) | TestCard::ThreeDSecure(Some(reason)) => {
                SavedBehaviour::Declines(reason.decline())
            }
        }
    }

    async fn charge_saved(
        &self,
        behaviour: &SavedBehaviour,
        _amount: i64,
        _currency: Currency,
    ) -> Result<(), Decline> {
        match behaviour {
            SavedBehaviour::Succeeds | SavedBehaviour::Paypal => Ok(()),
            SavedBehaviour::FailsOffSession => Err(Reason::Generic.decline()),
            SavedBehaviour::Declines(decline) => Err(decline.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::future::Future;
    use std::pin::pin;
    use std::task::{Context, Poll, Waker};

    use proptest::prelude::*;

    use super::*;

    /// 2026-11-15T00:00:00Z
    const NOV_15_2026: i64 = 1_794_700_800;
    /// 2026-12-31T23:59:59Z
    const DEC_31_2026_LAST_SECOND: i64 = 1_798_761_599;
    /// 2027-01-01T00:00:00Z
    const JAN_1_2027: i64 = 1_798_761_600;

    /// The test network's futures are ready at once: poll them once with a no-op waker.
    fn block_on<F: Future>(future: F) -> F::Output {
        let mut future = pin!(future);
        let mut cx = Context::from_waker(Waker::noop());
        match future.as_mut().poll(&mut cx) {
            Poll::Ready(v) => v,
            Poll::Pending => panic!("the test network never waits"),
        }
    }

    fn usd() -> Currency {
        Currency::parse("usd").unwrap()
    }

    fn card(number: &str) -> ValidCard {
        validate_card(number, "12/34", "123", NOV_15_2026).unwrap()
    }

    /// The key of the unit tests' installation.
    fn key() -> FingerprintKey {
        FingerprintKey::parse("kassa-unit-test-fingerprint-key-0123456789").unwrap()
    }

    fn pay(number: &str) -> CardAttempt {
        block_on(TestNetwork.pay_card(&card(number), 1000, usd()))
    }

    fn declined(number: &str) -> Decline {
        match pay(number) {
            CardAttempt::Declined(d) => d,
            other => panic!("{number}: expected a decline, got {other:?}"),
        }
    }

    fn challenge(number: &str) -> Challenge {
        match pay(number) {
            CardAttempt::RequiresAction(c) => c,
            other => panic!("{number}: expected a challenge, got {other:?}"),
        }
    }

    fn codes(d: &Decline) -> (&str, Option<&str>) {
        (d.code.as_str(), d.decline_code.as_deref())
    }

    fn errors(number: &str, expiry: &str, cvc: &str, now: i64) -> Vec<FieldError> {
        validate_card(number, expiry, cvc, now).unwrap_err()
    }

    // --- the table ---------------------------------------------------------------------------

    #[test]
    fn every_table_number_is_a_valid_card() {
        for (number, _) in TEST_CARDS {
            assert!(CardNumber::parse(number).is_ok(), "{number}");
        }
    }

    /// The test network answers at once, and what it answers is what a charge gets, for every
    /// card of the table and one outside it.
    #[test]
    fn the_test_network_answers_at_once_as_it_charges() {
        let numbers = TEST_CARDS.iter().map(|(n, _)| *n).chain(["4111111111111111"]);
        for n in numbers {
            assert_eq!(TestNetwork.pay_card_now(&card(n), 1000, usd()), Some(pay(n)), "{n}");
        }
    }

    #[test]
    fn success_cards_succeed() {
        for n in ["4242424242424242", "5555555555554444", "378282246310005", "4000000000000341"] {
            assert_eq!(pay(n), CardAttempt::Succeeded, "{n}");
        }
    }

    #[test]
    fn generic_decline() {
        let d = declined("4000000000000002");
        assert_eq!(codes(&d), ("card_declined", Some("generic_decline")));
        assert_eq!(d.message, "Your card was declined.");
    }

    #[test]
    fn insufficient_funds() {
        let d = declined("4000000000009995");
        assert_eq!(codes(&d), ("card_declined", Some("insufficient_funds")));
        assert_eq!(d.message, "Your card has insufficient funds.");
    }

    #[test]
    fn lost_and_stolen_cards() {
        assert_eq!(codes(&declined("4000000000009987")), ("card_declined", Some("lost_card")));
        assert_eq!(codes(&declined("4000000000009979")), ("card_declined", Some("stolen_card")));
    }

    #[test]
    fn expired_card() {
        let d = declined("4000000000000069");
        assert_eq!(d.code, "expired_card");
        assert_eq!(d.message, "Your card has expired.");
    }

    #[test]
    fn incorrect_cvc() {
        let d = declined("4000000000000127");
        assert_eq!(d.code, "incorrect_cvc");
        assert_eq!(d.message, "Your card's security code is incorrect.");
    }

    #[test]
    fn processing_error() {
        let d = declined("4000000000000119");
        assert_eq!(d.code, "processing_error");
        assert_eq!(d.message, "An error occurred while processing your card. Try again in a little bit.");
    }

    #[test]
    fn other_valid_numbers_are_not_test_cards() {
        for n in ["4111111111111111", "4000000000000010", "5454545454545454"] {
            let d = declined(n);
            assert_eq!(codes(&d), ("card_declined", Some("test_mode_live_card")), "{n}");
            assert_eq!(
                d.message,
                "Your card was declined. kassa's test network only accepts test card numbers."
            );
        }
    }

    #[test]
    fn three_d_secure_then_success() {
        let c = challenge("4000002760003184");
        assert_eq!(c.on_pass(), &ChallengeResult::Succeed);
        assert_eq!(TestNetwork.resolve_challenge(&c, true), CardAttempt::Succeeded);
    }

    #[test]
    fn three_d_secure_then_insufficient_funds() {
        let c = challenge("4000008260003178");
        match TestNetwork.resolve_challenge(&c, true) {
            CardAttempt::Declined(d) => {
                assert_eq!(codes(&d), ("card_declined", Some("insufficient_funds")))
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn failed_challenge_is_an_authentication_failure() {
        for n in ["4000002760003184", "4000008260003178"] {
            let c = challenge(n);
            match TestNetwork.resolve_challenge(&c, false) {
                CardAttempt::Declined(d) => {
                    assert_eq!(codes(&d), ("payment_intent_authentication_failure", None));
                    assert_eq!(
                        d.message,
                        "We are unable to authenticate your payment method. Please choose a \
                         different payment method and try again."
                    );
                }
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn challenge_survives_storage_without_the_card() {
        for n in ["4000002760003184", "4000008260003178"] {
            let c = challenge(n);
            let json = serde_json::to_string(&c).unwrap();
            assert!(!json.contains(n) && !json.contains("3184") && !json.contains("3178"), "{json}");
            let back: Challenge = serde_json::from_str(&json).unwrap();
            assert_eq!(back, c);
            assert_eq!(TestNetwork.resolve_challenge(&back, true), TestNetwork.resolve_challenge(&c, true));
        }
    }

    #[test]
    fn off_session_behaviour() {
        let net = TestNetwork;
        let charge = |b: &SavedBehaviour| block_on(net.charge_saved(b, 1000, usd()));

        let b = net.saved_behaviour(&card("4000000000000341"));
        assert_eq!(b, SavedBehaviour::FailsOffSession);
        let d = charge(&b).unwrap_err();
        assert_eq!(codes(&d), ("card_declined", Some("generic_decline")));

        for n in ["4242424242424242", "5555555555554444", "378282246310005", "4000002760003184"] {
            let b = net.saved_behaviour(&card(n));
            assert_eq!(b, SavedBehaviour::Succeeds, "{n}");
            assert_eq!(charge(&b), Ok(()));
        }
        assert_eq!(charge(&SavedBehaviour::Paypal), Ok(()));

        let b = net.saved_behaviour(&card("4000000000009995"));
        assert_eq!(codes(&charge(&b).unwrap_err()), ("card_declined", Some("insufficient_funds")));
        let b = net.saved_behaviour(&card("4000008260003178"));
        assert_eq!(codes(&charge(&b).unwrap_err()), ("card_declined", Some("insufficient_funds")));
    }

    #[test]
    fn saved_behaviour_round_trips_as_json() {
        for b in [
            SavedBehaviour::Succeeds,
            SavedBehaviour::FailsOffSession,
            SavedBehaviour::Paypal,
            SavedBehaviour::Declines(Reason::Generic.decline()),
        ] {
            let json = serde_json::to_string(&b).unwrap();
            assert_eq!(serde_json::from_str::<SavedBehaviour>(&json).unwrap(), b, "{json}");
        }
        assert_eq!(
            serde_json::to_value(SavedBehaviour::FailsOffSession).unwrap(),
            serde_json::json!({"behaviour": "fails_off_session"})
        );
    }

    #[test]
    fn decline_serializes_like_stripe() {
        let d = Reason::Generic.decline();
        assert_eq!(
            serde_json::to_value(&d).unwrap(),
            serde_json::json!({
                "code": "card_declined",
                "decline_code": "generic_decline",
                "message": "Your card was declined."
            })
        );
        let back: Decline = serde_json::from_value(serde_json::to_value(&d).unwrap()).unwrap();
        assert_eq!(back, d);
    }

    #[test]
    fn processor_is_object_safe() {
        let p: Box<dyn PaymentProcessor> = Box::new(TestNetwork);
        assert_eq!(p.name(), "test");
        assert_eq!(block_on(p.pay_card(&card("4242424242424242"), 1, usd())), CardAttempt::Succeeded);
    }

    // --- card number -------------------------------------------------------------------------

    #[test]
    fn luhn() {
        assert!(luhn_valid("4242424242424242"));
        assert!(luhn_valid("79927398713"));
        assert!(!luhn_valid("4242424242424241"));
        assert!(!luhn_valid("79927398710"));
        assert!(CardNumber::parse("4242424242424241").is_err());
    }

    #[test]
    fn spaces_and_dashes_are_ignored() {
        for input in ["4242 4242 4242 4242", "4242-4242-4242-4242", " 4242424242424242 ", "3782 822463 10005"]
        {
            assert!(CardNumber::parse(input).is_ok(), "{input}");
        }
        let n = CardNumber::parse("4242 4242-4242 4242").unwrap();
        assert_eq!(n.expose_digits(), "4242424242424242");
    }

    #[test]
    fn other_characters_are_invalid() {
        for input in [
            "4242.4242.4242.4242",
            "4242a42424242424",
            "４２４２４２４２４２４２４２４２",
            "+4242424242424242",
        ] {
            let e = CardNumber::parse(input).unwrap_err();
            assert_eq!(e, FieldError::new(CardField::Number, "Your card number is invalid."), "{input}");
        }
    }

    #[test]
    fn lengths() {
        // 12 and 19 digits, Luhn-valid, are accepted; 11 and 20 are not.
        assert!(CardNumber::parse("000000000000").is_ok());
        assert!(CardNumber::parse("0000000000000000000").is_ok());
        assert_eq!(CardNumber::parse("00000000000").unwrap_err().message, "Your card number is incomplete.");
        assert_eq!(
            CardNumber::parse("00000000000000000000").unwrap_err().message,
            "Your card number is invalid."
        );
        assert_eq!(CardNumber::parse("").unwrap_err().message, "Your card number is incomplete.");
        assert_eq!(CardNumber::parse("4242").unwrap_err().message, "Your card number is incomplete.");
        assert!(CardNumber::parse(&"0".repeat(100)).is_err());
    }

    #[test]
    fn last4() {
        assert_eq!(CardNumber::parse("4242424242424242").unwrap().last4(), "4242");
        assert_eq!(CardNumber::parse("378282246310005").unwrap().last4(), "0005");
    }

    #[test]
    fn brands() {
        let cases = [
            ("4242424242424242", Brand::Visa),
            ("5555555555554444", Brand::Mastercard),
            ("5105105105105100", Brand::Mastercard),
            ("2223003122003222", Brand::Mastercard),
            ("2720990000000007", Brand::Mastercard),
            ("378282246310005", Brand::Amex),
            ("341111111111111", Brand::Amex),
            ("6011111111111117", Brand::Discover),
            ("6500000000000002", Brand::Discover),
            ("6445644564456445", Brand::Discover),
            ("3056930009020004", Brand::Diners),
            ("36227206271667", Brand::Diners),
            ("3800000000000006", Brand::Diners),
            ("3566002020360505", Brand::Jcb),
            ("6200000000000005", Brand::Unionpay),
            ("2220000000000000", Brand::Unknown),
            ("2721000000000004", Brand::Unknown),
            ("5600000000000003", Brand::Unknown),
            ("3060000000000001", Brand::Unknown),
            ("9999999999999995", Brand::Unknown),
        ];
        for (n, brand) in cases {
            let number = CardNumber::parse(n).unwrap_or_else(|_| panic!("{n} should be valid"));
            assert_eq!(number.brand(), brand, "{n}");
        }
        assert_eq!(card("378282246310005").brand().as_str(), "amex");
        assert_eq!(serde_json::to_value(Brand::Unionpay).unwrap(), "unionpay");
    }

    // --- expiry ------------------------------------------------------------------------------

    #[test]
    fn year_month_from_timestamps() {
        assert_eq!(year_month(0), (1970, 1));
        assert_eq!(year_month(-1), (1969, 12));
        assert_eq!(year_month(NOV_15_2026), (2026, 11));
        assert_eq!(year_month(DEC_31_2026_LAST_SECOND), (2026, 12));
        assert_eq!(year_month(JAN_1_2027), (2027, 1));
        assert_eq!(year_month(951_825_600), (2000, 2)); // 2000-02-29T12:00Z
        assert_eq!(year_month(1_709_164_800), (2024, 2)); // 2024-02-29T00:00Z
        assert_eq!(year_month(1_709_251_200), (2024, 3)); // 2024-03-01T00:00Z
    }

    fn expiry(input: &str, now: i64) -> Result<(u32, u32), String> {
        Expiry::parse(input, now).map(|e| (e.month(), e.year())).map_err(|e| {
            assert_eq!(e.field, CardField::Expiry);
            e.message
        })
    }

    #[test]
    fn expiry_formats() {
        for input in ["12/30", "12 / 30", "12/2030", "1230", "122030", " 12/30 ", "12-30", "12 / 2030"] {
            assert_eq!(expiry(input, NOV_15_2026), Ok((12, 2030)), "{input}");
        }
        assert_eq!(expiry("1/30", NOV_15_2026), Ok((1, 2030)));
        assert_eq!(expiry("01/30", NOV_15_2026), Ok((1, 2030)));
    }

    #[test]
    fn expiry_this_month_is_valid_last_month_is_not() {
        assert_eq!(expiry("11/26", NOV_15_2026), Ok((11, 2026)));
        assert_eq!(expiry("10/26", NOV_15_2026), Err(EXPIRY_PAST.to_owned()));
        assert_eq!(expiry("12/26", DEC_31_2026_LAST_SECOND), Ok((12, 2026)));
        assert_eq!(expiry("12/2026", DEC_31_2026_LAST_SECOND), Ok((12, 2026)));
        assert_eq!(expiry("12/26", JAN_1_2027), Err(EXPIRY_PAST.to_owned()));
        assert_eq!(expiry("01/27", JAN_1_2027), Ok((1, 2027)));
        assert_eq!(
            expiry("12/25", NOV_15_2026),
            Err("Your card's expiration date is in the past.".to_owned())
        );
    }

    #[test]
    fn expiry_is_past() {
        let e = Expiry::parse("12/26", NOV_15_2026).unwrap();
        assert!(!e.is_past(DEC_31_2026_LAST_SECOND));
        assert!(e.is_past(JAN_1_2027));
    }

    #[test]
    fn expiry_bad_months() {
        for input in ["13/30", "00/30", "0/30", "99/30", "1330"] {
            assert_eq!(expiry(input, NOV_15_2026), Err(EXPIRY_MONTH_INVALID.to_owned()), "{input}");
        }
    }

    #[test]
    fn expiry_incomplete() {
        for input in ["1/2", "12/5", "12/", "/30", "12", "123", "", "   ", "12/203"] {
            assert_eq!(
                expiry(input, NOV_15_2026),
                Err("Your card's expiration date is incomplete.".to_owned()),
                "{input:?}"
            );
        }
    }

    #[test]
    fn expiry_garbage() {
        for input in ["ab/cd", "12/3x", "12/30/30", "12345", "1234567", "123/30", "12/20300", "１２/３０"]
        {
            let r = expiry(input, NOV_15_2026);
            assert!(r.is_err(), "{input}: {r:?}");
            assert_ne!(r, Err(EXPIRY_PAST.to_owned()), "{input}");
        }
    }

    #[test]
    fn two_and_four_digit_years() {
        assert_eq!(expiry("06/27", NOV_15_2026), Ok((6, 2027)));
        assert_eq!(expiry("06/2027", NOV_15_2026), Ok((6, 2027)));
        assert_eq!(expiry("06/76", NOV_15_2026), Ok((6, 2076)));
        // More than fifty years ahead is a typo, not a card.
        assert_eq!(expiry("06/77", NOV_15_2026), Err(EXPIRY_YEAR_INVALID.to_owned()));
        assert_eq!(expiry("06/2099", NOV_15_2026), Err(EXPIRY_YEAR_INVALID.to_owned()));
        assert_eq!(expiry("06/1999", NOV_15_2026), Err(EXPIRY_PAST.to_owned()));
        assert_eq!(expiry("06/9999", NOV_15_2026), Err(EXPIRY_YEAR_INVALID.to_owned()));
    }

    // --- CVC ---------------------------------------------------------------------------------

    #[test]
    fn cvc_lengths_and_letters() {
        assert_eq!(Cvc::parse("123").unwrap().digit_count(), 3);
        assert_eq!(Cvc::parse("1234").unwrap().digit_count(), 4);
        assert_eq!(Cvc::parse(" 123 ").unwrap().digit_count(), 3);
        assert_eq!(Cvc::parse("12").unwrap_err().message, "Your card's security code is incomplete.");
        assert_eq!(Cvc::parse("").unwrap_err().message, "Your card's security code is incomplete.");
        for bad in ["12345", "12a", "abc", "1 23", "-12", "１２３"] {
            let e = Cvc::parse(bad).unwrap_err();
            assert_eq!(e, FieldError::new(CardField::Cvc, "Your card's security code is invalid."), "{bad}");
        }
    }

    // --- the whole card ----------------------------------------------------------------------

    #[test]
    fn validate_card_collects_every_error() {
        let errs = errors("4242424242424241", "10/26", "12a", NOV_15_2026);
        assert_eq!(
            errs,
            vec![
                FieldError::new(CardField::Number, "Your card number is invalid."),
                FieldError::new(CardField::Expiry, "Your card's expiration date is in the past."),
                FieldError::new(CardField::Cvc, "Your card's security code is invalid."),
            ]
        );
        let errs = errors("4242424242424242", "1/2", "123", NOV_15_2026);
        assert_eq!(
            errs,
            vec![FieldError::new(CardField::Expiry, "Your card's expiration date is incomplete.")]
        );
        assert_eq!(errs[0].to_string(), "Your card's expiration date is incomplete.");
    }

    #[test]
    fn details() {
        let c = validate_card("4242 4242 4242 4242", "03/2031", "123", NOV_15_2026).unwrap();
        let d = c.details(&key(), "acct_1");
        assert_eq!(d.brand, "visa");
        assert_eq!(d.last4, "4242");
        assert_eq!((d.exp_month, d.exp_year), (3, 2031));
        assert_eq!(d.fingerprint.len(), 16);
        assert!(d.fingerprint.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
    }

    #[test]
    fn fingerprint_is_stable_per_account_and_differs_across_accounts_and_installations() {
        let a1 = card("4242424242424242").details(&key(), "acct_1").fingerprint;
        // Same number typed differently, different expiry and CVC: same fingerprint.
        let a1_again = validate_card("4242-4242-4242-4242", "01/40", "9876", NOV_15_2026)
            .unwrap()
            .details(&key(), "acct_1")
            .fingerprint;
        let a2 = card("4242424242424242").details(&key(), "acct_2").fingerprint;
        let other = card("5555555555554444").details(&key(), "acct_1").fingerprint;
        assert_eq!(a1, a1_again);
        assert_ne!(a1, a2);
        assert_ne!(a1, other);
        // Another installation (another key): same account id, same number, another fingerprint.
        let elsewhere = card("4242424242424242").details(&FingerprintKey::generate(), "acct_1").fingerprint;
        assert_ne!(a1, elsewhere);
        // A fixed value: changing the scheme would orphan stored fingerprints. Recomputable with
        // the key: hmac_sha256(key, "kassa card fingerprint v2\0" + "acct_1" + "\0" + digits)[..16].
        assert_eq!(a1, "64855ce52e7d7f28");
        // ...and no longer what the unkeyed v1 scheme gave, which anyone could recompute:
        // sha256("kassa card fingerprint v1\0" + "acct_1" + "\0" + digits)[..16].
        assert_ne!(a1, "0457bc5f4aaa246d");
    }

    #[test]
    fn fingerprint_keys_are_long_enough_and_never_shown() {
        let generated = FingerprintKey::generate();
        assert!(generated.expose().len() >= FingerprintKey::MIN_LEN);
        assert_ne!(generated, FingerprintKey::generate());
        assert_eq!(FingerprintKey::parse(&format!("  {}\n", generated.expose())).unwrap(), generated);
        assert_eq!(format!("{generated:?}"), "FingerprintKey(****)");
        assert_eq!(format!("{generated:#?}"), "FingerprintKey(****)");

        let short = "0123456789abcdef0123456789abcde";
        let e = FingerprintKey::parse(short).unwrap_err();
        assert!(e.contains("at least 32") && !e.contains(short), "{e}");
        let spaced = "0123456789abcdef 0123456789abcdef";
        let e = FingerprintKey::parse(spaced).unwrap_err();
        assert!(e.contains("without spaces") && !e.contains(spaced), "{e}");
        assert!(FingerprintKey::parse("").is_err());
        assert!(FingerprintKey::parse(&"x".repeat(32)).is_ok());
    }

    #[test]
    fn debug_masks_known_cards() {
        let c = card("4242424242424242");
        assert_eq!(format!("{:?}", c.number()), "CardNumber(****)");
        assert_eq!(format!("{:?}", c.cvc()), "Cvc(***)");
        assert_eq!(
            format!("{c:?}"),
            "ValidCard { number: CardNumber(****), expiry: Expiry { month: 12, year: 2034 }, cvc: Cvc(***) }"
        );
        let alt = format!("{c:#?}");
        assert!(!alt.contains("4242424242424242"));
    }

    /// A Luhn-valid number of 12–19 digits.
    fn luhn_number() -> impl Strategy<Value = String> {
        proptest::collection::vec(0u32..10, 11..=18).prop_map(|body| {
            let mut digits: String = body.iter().map(|d| char::from_digit(*d, 10).unwrap_or('0')).collect();
            for check in '0'..='9' {
                let candidate = format!("{digits}{check}");
                if luhn_valid(&candidate) {
                    digits = candidate;
                    break;
                }
            }
            digits
        })
    }

    fn longest_digit_run(s: &str) -> usize {
        s.split(|c: char| !c.is_ascii_digit()).map(str::len).max().unwrap_or(0)
    }

    proptest! {
        #[test]
        fn debug_never_shows_the_number_or_the_cvc(
            number in luhn_number(),
            cvc in "[0-9]{3,4}",
        ) {
            let card = validate_card(&number, "12/34", &cvc, NOV_15_2026).unwrap();
            for text in [
                format!("{:?}", card.number()),
                format!("{:?}", card.cvc()),
                format!("{card:?}"),
                format!("{card:#?}"),
            ] {
                prop_assert!(!text.contains(&number), "{}", text);
                // Nothing longer than a four-digit run (the expiry year) appears.
                prop_assert!(longest_digit_run(&text) <= 4, "{}", text);
            }
            // No digit of the number at all, not even the last four.
            prop_assert_eq!(format!("{:?}", card.number()), "CardNumber(****)");
            prop_assert_eq!(format!("{:?}", card.cvc()), "Cvc(***)");
            prop_assert_eq!(
                format!("{card:?}"),
                "ValidCard { number: CardNumber(****), expiry: Expiry { month: 12, year: 2034 }, cvc: Cvc(***) }"
            );
            // The details keep only the last four digits.
            let details = serde_json::to_string(&card.details(&key(), "acct_x")).unwrap();
            prop_assert!(!details.contains(&number));
        }

        #[test]
        fn luhn_rejects_any_single_digit_change(number in luhn_number(), pos in 0usize..19, delta in 1u8..10) {
            let pos = pos % number.len();
            let mut bytes = number.into_bytes();
            bytes[pos] = b'0' + (bytes[pos] - b'0' + delta) % 10;
            let changed = String::from_utf8(bytes).unwrap();
            prop_assert!(!luhn_valid(&changed));
            prop_assert!(CardNumber::parse(&changed).is_err());
        }

        #[test]
        fn parsers_never_panic(input in "\\PC{0,40}", now in -10_000_000_000i64..10_000_000_000) {
            let _ = validate_card(&input, &input, &input, now);
        }
    }
}
