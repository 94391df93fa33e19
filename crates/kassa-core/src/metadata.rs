//! `metadata`: up to 50 string pairs on every object, with Stripe's limits (keys up to 40
//! characters without square brackets, values up to 500). On update, a value of `""` removes the
//! key and `metadata=""` removes them all.

use std::collections::BTreeMap;

use crate::error::Invalid;
use crate::params::MetadataParam;

pub type Metadata = BTreeMap<String, String>;

pub const MAX_KEYS: usize = 50;
pub const MAX_KEY_LEN: usize = 40;
pub const MAX_VALUE_LEN: usize = 500;

/// Metadata for a new object: `""` values are simply left out.
pub fn create(param: Option<MetadataParam>, name: &str) -> Result<Metadata, Invalid> {
    update(Metadata::new(), param, name)
}

/// Apply an update to existing metadata.
pub fn update(mut current: Metadata, param: Option<MetadataParam>, name: &str) -> Result<Metadata, Invalid> {
    match param {
        None => {}
        Some(MetadataParam::Clear) => current.clear(),
        Some(MetadataParam::Set(pairs)) => {
            for (k, v) in pairs {
                let param = format!("{name}[{k}]");
                if k.is_empty() || k.chars().count() > MAX_KEY_LEN || k.contains(['[', ']']) {
                    return Err(Invalid::param(
                        name,
                        format!(
                            "Metadata keys must be 1 to {MAX_KEY_LEN} characters long and may not contain square brackets."
                        ),
                    ));
                }
                if v.chars().count() > MAX_VALUE_LEN {
                    return Err(Invalid::param(
                        param,
                        format!("Metadata values can have up to {MAX_VALUE_LEN} characters."),
                    ));
                }
                if v.is_empty() {
                    current.remove(&k);
                } else {
                    current.insert(k, v);
                }
            }
        }
    }
    if current.len() > MAX_KEYS {
        return Err(Invalid::param(name, format!("Metadata can have up to {MAX_KEYS} keys.")));
    }
    Ok(current)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(pairs: &[(&str, &str)]) -> Option<MetadataParam> {
        Some(MetadataParam::Set(pairs.iter().map(|(k, v)| ((*k).into(), (*v).into())).collect()))
    }

    #[test]
    fn limits_and_updates() {
        let m = create(set(&[("a", "1"), ("b", "")]), "metadata").unwrap();
        assert_eq!(m.len(), 1);
        let m = update(m, set(&[("a", ""), ("c", "3")]), "metadata").unwrap();
        assert_eq!(m.keys().collect::<Vec<_>>(), ["c"]);
        assert!(update(m, Some(MetadataParam::Clear), "metadata").unwrap().is_empty());
        let long_key = "k".repeat(41);
        assert!(create(set(&[(&long_key, "v")]), "metadata").is_err());
        let long_val = "v".repeat(501);
        let err = create(set(&[("k", &long_val)]), "metadata").unwrap_err();
        assert_eq!(err.param.as_deref(), Some("metadata[k]"));
        let many: Vec<(String, String)> = (0..51).map(|i| (format!("k{i}"), "v".into())).collect();
        let p = Some(MetadataParam::Set(many.into_iter().collect()));
        assert!(create(p, "metadata").is_err());
    }
}
