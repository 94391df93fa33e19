//! Shipping rates: create, retrieve, update (`active`, `metadata`, `tax_behavior`), list. The
//! rules are the core's ([`kassa_core::shipping`]).

use kassa_core::params::ShippingRateList;
use kassa_core::shipping::{ShippingRate, ShippingRateCreate, ShippingRateUpdate};
use kassa_core::store::{Column, Filter};

use super::{Acct, Result, create, get, list, update};
use crate::state::Ctx;

pub async fn create_rate(ctx: &Ctx, acct: &Acct, p: ShippingRateCreate) -> Result<ShippingRate> {
    let now = ctx.now();
    create(ctx, acct, move |_, _, _| Ok(ShippingRate::create(p, "", now)?)).await
}

pub async fn update_rate(ctx: &Ctx, acct: &Acct, id: &str, p: ShippingRateUpdate) -> Result<ShippingRate> {
    update(ctx, acct, id, move |r: &mut ShippingRate, _, _, _| Ok(r.update(p)?)).await
}

pub async fn get_rate(ctx: &Ctx, acct: &Acct, id: &str) -> Result<ShippingRate> {
    get(ctx, acct, id).await
}

pub async fn list_rates(ctx: &Ctx, acct: &Acct, p: &ShippingRateList) -> Result<(Vec<ShippingRate>, bool)> {
    let mut filters = Vec::new();
    if let Some(a) = p.active {
        filters.push(Filter::Eq(Column::Active, a.0.into()));
    }
    if let Some(c) = &p.currency {
        filters.push(Filter::Eq(Column::Currency, c.to_ascii_lowercase().into()));
    }
    list(ctx, acct, &p.page(), filters, p.created.as_ref()).await
}
