//! Step 10 — the common extras: `client_reference_id` (at most 200 characters; blank means none),
//! then `metadata` (Stripe's limits, see [`crate::metadata`]).

use crate::catalog;
use crate::error::Invalid;
use crate::metadata::{self, Metadata};
use crate::params::MetadataParam;

pub(super) const MAX_CLIENT_REFERENCE_ID: usize = 200;

pub(super) fn extras(
    client_reference_id: Option<String>,
    metadata: Option<MetadataParam>,
) -> Result<(Option<String>, Metadata), Invalid> {
    let client_reference_id =
        catalog::text("client_reference_id", client_reference_id, MAX_CLIENT_REFERENCE_ID)?
            .filter(|c| !c.is_empty());
    let metadata = metadata::create(metadata, "metadata")?;
    Ok((client_reference_id, metadata))
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use crate::params::{MetadataParam, SessionCreate};

    fn with_extras(client_reference_id: Option<String>, metadata: Option<MetadataParam>) -> SessionCreate {
        SessionCreate { client_reference_id, metadata, ..buy("price_usd", 1) }
    }

    fn pairs(n: usize) -> Option<MetadataParam> {
        Some(MetadataParam::Set((0..n).map(|i| (format!("k{i}"), "v".to_owned())).collect()))
    }

    #[test]
    fn client_reference_id_at_most_200_characters() {
        let at_limit = "r".repeat(200);
        assert_eq!(
            Fx::new().ok(with_extras(Some(at_limit.clone()), None)).client_reference_id,
            Some(at_limit)
        );
        let m = invalid(Fx::new().create(with_extras(Some("r".repeat(201)), None)), "client_reference_id");
        assert_eq!(m, "`client_reference_id` must be at most 200 characters.");
    }

    #[test]
    fn client_reference_id_blank_is_none() {
        assert_eq!(Fx::new().ok(with_extras(Some(String::new()), None)).client_reference_id, None);
    }

    #[test]
    fn metadata_at_most_50_keys() {
        assert_eq!(Fx::new().ok(with_extras(None, pairs(50))).metadata.len(), 50);
        let m = invalid(Fx::new().create(with_extras(None, pairs(51))), "metadata");
        assert_eq!(m, "Metadata can have up to 50 keys.");
    }

    #[test]
    fn client_reference_id_checked_before_metadata() {
        invalid(Fx::new().create(with_extras(Some("r".repeat(201)), pairs(51))), "client_reference_id");
    }
}
