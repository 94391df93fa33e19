//! Money: `i64` amounts in a currency's minor unit, currencies with Stripe's exponents, and
//! percentages as integer basis points. No floats anywhere in the arithmetic; every operation that
//! could overflow is checked and widened to `i128` where a product is formed.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The largest `unit_amount` a price may carry (Stripe allows 8 digits in most currencies; kassa
/// allows 12 so that zero-decimal currencies have room, and keeps sums far from `i64::MAX`).
pub const MAX_UNIT_AMOUNT: i64 = 999_999_999_999;

/// The largest amount a session, invoice or payment may total.
pub const MAX_TOTAL: i64 = 99_999_999_999_999;

/// Lowercase ISO 4217 codes that kassa accepts (the currencies Stripe supports for payments).
const CURRENCIES: &[&str] = &[
    "aed", "afn", "all", "amd", "ang", "aoa", "ars", "aud", "awg", "azn", "bam", "bbd", "bdt", "bgn", "bhd",
    "bif", "bmd", "bnd", "bob", "brl", "bsd", "bwp", "byn", "bzd", "cad", "cdf", "chf", "clp", "cny", "cop",
    "crc", "cve", "czk", "djf", "dkk", "dop", "dzd", "egp", "etb", "eur", "fjd", "fkp", "gbp", "gel", "gip",
    "gmd", "gnf", "gtq", "gyd", "hkd", "hnl", "htg", "huf", "idr", "ils", "inr", "isk", "jmd", "jod", "jpy",
    "kes", "kgs", "khr", "kmf", "krw", "kwd", "kyd", "kzt", "lak", "lbp", "lkr", "lrd", "lsl", "mad", "mdl",
    "mga", "mkd", "mmk", "mnt", "mop", "mur", "mvr", "mwk", "mxn", "myr", "mzn", "nad", "ngn", "nio", "nok",
    "npr", "nzd", "omr", "pab", "pen", "pgk", "php", "pkr", "pln", "pyg", "qar", "ron", "rsd", "rub", "rwf",
    "sar", "sbd", "scr", "sek", "sgd", "shp", "sle", "sos", "srd", "std", "szl", "thb", "tjs", "tnd", "top",
    "try", "ttd", "twd", "tzs", "uah", "ugx", "usd", "uyu", "uzs", "vnd", "vuv", "wst", "xaf", "xcd", "xof",
    "xpf", "yer", "zar", "zmw",
];

/// Stripe's zero-decimal currencies: amounts are in the unit itself. Note `mga`, which ISO 4217
/// gives two decimals but Stripe treats as zero-decimal.
const ZERO_DECIMAL: &[&str] = &[
    "bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd", "vuv", "xaf", "xof",
    "xpf",
];

const THREE_DECIMAL: &[&str] = &["bhd", "jod", "kwd", "omr", "tnd"];

/// A supported currency, stored as its lowercase code.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Currency([u8; 3]);

impl Currency {
    /// Parse a lowercase code (uppercase input is accepted and folded, as Stripe does).
    pub fn parse(code: &str) -> Option<Self> {
        let lower = code.to_ascii_lowercase();
        CURRENCIES.binary_search(&lower.as_str()).ok()?;
        let b = lower.as_bytes();
        Some(Self([b[0], b[1], b[2]]))
    }

    pub fn as_str(&self) -> &str {
        // Constructed only from ASCII codes in the table.
        std::str::from_utf8(&self.0).unwrap_or("xxx")
    }

    /// Digits after the decimal point in Stripe's API for this currency.
    pub fn exponent(&self) -> u32 {
        if ZERO_DECIMAL.contains(&self.as_str()) {
            0
        } else if THREE_DECIMAL.contains(&self.as_str()) {
            3
        } else {
            2
        }
    }

    /// Render `amount` minor units as a decimal string with the currency code, e.g. `12.50 USD`.
    pub fn format(&self, amount: i64) -> String {
        let exp = self.exponent();
        let code = self.as_str().to_ascii_uppercase();
        if exp == 0 {
            return format!("{amount} {code}");
        }
        let div = 10i64.pow(exp);
        let sign = if amount < 0 { "-" } else { "" };
        let abs = amount.unsigned_abs();
        let div_u = div.unsigned_abs();
        let width = usize::try_from(exp).unwrap_or(2);
        format!("{sign}{}.{:0width$} {code}", abs / div_u, abs % div_u)
    }
}

impl fmt::Debug for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Currency {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).ok_or_else(|| serde::de::Error::custom(format!("unknown currency {s}")))
    }
}

/// `unit × quantity`, or `None` when it would leave the range kassa accepts.
pub fn line_amount(unit_amount: i64, quantity: i64) -> Option<i64> {
    let v = i128::from(unit_amount).checked_mul(i128::from(quantity))?;
    i64::try_from(v).ok().filter(|v| (0..=MAX_TOTAL).contains(v))
}

/// A percentage with at most two decimals, held as basis points of a percent: `12.5%` is `1250`.
/// Valid values are `0 < p ≤ 100%`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Percent(u32);

impl Percent {
    pub const HUNDRED: u32 = 10_000;

    pub fn from_basis_points(bp: u32) -> Option<Self> {
        (1..=Self::HUNDRED).contains(&bp).then_some(Self(bp))
    }

    pub fn basis_points(&self) -> u32 {
        self.0
    }

    /// Parse a decimal such as `25`, `12.5` or `33.33` exactly; more than two decimals, signs,
    /// exponents or values outside `(0, 100]` are refused.
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        let (int, frac) = match text.split_once('.') {
            Some((i, f)) => (i, f),
            None => (text, ""),
        };
        if int.is_empty() && frac.is_empty() {
            return None;
        }
        if !int.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let frac = frac.trim_end_matches('0');
        if frac.len() > 2 || int.len() > 3 {
            return None;
        }
        let int: u32 = if int.is_empty() { 0 } else { int.parse().ok()? };
        let mut frac_bp: u32 = if frac.is_empty() { 0 } else { frac.parse().ok()? };
        if frac.len() == 1 {
            frac_bp *= 10;
        }
        Self::from_basis_points(int.checked_mul(100)?.checked_add(frac_bp)?)
    }

    /// `amount × p`, rounded half up to the minor unit.
    pub fn of(&self, amount: i64) -> i64 {
        // p% = bp / 100, so amount × p% = amount × bp / 10 000.
        let num = i128::from(amount) * i128::from(self.0);
        let den = i128::from(Self::HUNDRED);
        let rounded = (num * 2 + den) / (den * 2);
        // |result| ≤ |amount|, so it fits.
        i64::try_from(rounded).unwrap_or(amount)
    }

    /// The value as a JSON number (`12.5`), which is how Stripe shows `percent_off`.
    pub fn to_json_number(&self) -> serde_json::Value {
        let f = f64::from(self.0) / 100.0;
        serde_json::Number::from_f64(f).map_or(serde_json::Value::Null, serde_json::Value::Number)
    }
}

impl fmt::Debug for Percent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:02}%", self.0 / 100, self.0 % 100)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn currencies() {
        let mut sorted = CURRENCIES.to_vec();
        sorted.sort_unstable();
        assert_eq!(sorted, CURRENCIES, "the table must stay sorted for binary search");
        assert!(ZERO_DECIMAL.iter().chain(THREE_DECIMAL).all(|c| Currency::parse(c).is_some()));
        assert_eq!(Currency::parse("USD").map(|c| c.exponent()), Some(2));
        assert_eq!(Currency::parse("jpy").map(|c| c.exponent()), Some(0));
        assert_eq!(Currency::parse("kwd").map(|c| c.exponent()), Some(3));
        assert!(Currency::parse("xyz").is_none());
        assert!(Currency::parse("").is_none());
        assert!(Currency::parse("usdd").is_none());
    }

    #[test]
    fn formatting() {
        let usd = Currency::parse("usd").unwrap();
        assert_eq!(usd.format(1250), "12.50 USD");
        assert_eq!(usd.format(5), "0.05 USD");
        assert_eq!(Currency::parse("jpy").unwrap().format(500), "500 JPY");
        assert_eq!(Currency::parse("kwd").unwrap().format(1005), "1.005 KWD");
    }

    #[test]
    fn percent_parsing() {
        assert_eq!(Percent::parse("25").map(|p| p.0), Some(2500));
        assert_eq!(Percent::parse("12.5").map(|p| p.0), Some(1250));
        assert_eq!(Percent::parse("33.33").map(|p| p.0), Some(3333));
        assert_eq!(Percent::parse("100").map(|p| p.0), Some(10_000));
        assert_eq!(Percent::parse("100.00").map(|p| p.0), Some(10_000));
        assert_eq!(Percent::parse("0.01").map(|p| p.0), Some(1));
        assert_eq!(Percent::parse(".5").map(|p| p.0), Some(50));
        for bad in ["0", "0.00", "100.01", "33.333", "-5", "1e2", "abc", "", ".", "5.5.5", "1000"] {
            assert!(Percent::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn percent_rounds_half_up() {
        let p = Percent::parse("50").unwrap();
        assert_eq!(p.of(1), 1); // 0.5 → 1
        assert_eq!(p.of(3), 2); // 1.5 → 2
        let p = Percent::parse("33.33").unwrap();
        assert_eq!(p.of(100), 33); // 33.33
        assert_eq!(p.of(150), 50); // 49.995 → 50
        assert_eq!(Percent::parse("12.5").unwrap().of(1000), 125);
        assert_eq!(Percent::parse("100").unwrap().of(987_654), 987_654);
    }

    #[test]
    fn line_amount_is_checked() {
        assert_eq!(line_amount(1000, 3), Some(3000));
        assert_eq!(line_amount(MAX_UNIT_AMOUNT, 999_999), None);
        assert_eq!(line_amount(i64::MAX, 2), None);
    }
}
