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
