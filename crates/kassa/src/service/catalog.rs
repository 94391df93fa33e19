//! Products, prices, customers, coupons, promotion codes and tax rates: create, retrieve, update,
//! list (and delete for coupons). The rules are the core's; each write is one transaction that also reads
//! whatever the rules need (a price's product, a promotion code's coupon), so a check and the
//! write it guards cannot be separated by another request.

use std::collections::HashSet;

use kassa_core::catalog::{Coupon, Customer, Price, Product, PromotionCode};
use kassa_core::params::{
    CouponCreate, CouponList, CouponUpdate, CustomerCreate, CustomerList, CustomerUpdate, PriceCreate,
    PriceList, PriceUpdate, ProductCreate, ProductList, ProductUpdate, PromotionCodeCreate,
    PromotionCodeList, PromotionCodeUpdate, TaxIdCreate, TaxIdList, TaxRateCreate, TaxRateList,
    TaxRateUpdate,
};
use kassa_core::store::{Column, Filter, Kind, Record, StoreError, TxExt, Value, transact};
use kassa_core::tax::{CustomerTaxId, TaxRate};
use kassa_core::{Error as DomainError, Invalid};

use kassa_core::webhook::EventType;

use super::{Acct, Result, create, get, list, update};
use crate::state::Ctx;
use crate::views;

pub async fn create_product(ctx: &Ctx, acct: &Acct, p: ProductCreate) -> Result<Product> {
    let now = ctx.now();
    create(ctx, acct, move |_, _, _| Ok(Product::create(p, now)?)).await
}

pub async fn update_product(ctx: &Ctx, acct: &Acct, id: &str, p: ProductUpdate) -> Result<Product> {
    let now = ctx.now();
    update(ctx, acct, id, move |product: &mut Product, _, _, _| Ok(product.update(p, now)?)).await
}

pub async fn get_product(ctx: &Ctx, acct: &Acct, id: &str) -> Result<Product> {
    get(ctx, acct, id).await
}

pub async fn list_products(ctx: &Ctx, acct: &Acct, p: &ProductList) -> Result<(Vec<Product>, bool)> {
    let mut filters = Vec::new();
    if let Some(a) = p.active {
        filters.push(Filter::Eq(Column::Active, a.0.into()));
    }
    list(ctx, acct, &p.page(), filters, p.created.as_ref()).await
}

pub async fn create_price(ctx: &Ctx, acct: &Acct, p: PriceCreate) -> Result<Price> {
    let now = ctx.now();
    create(ctx, acct, move |tx, _, account| {
        let product: Option<Product> = match p.product.as_deref() {
            Some(id) => tx.load(account, id)?,
            None => None,
        };
        Ok(Price::create(p, product.as_ref(), now)?)
    })
    .await
}

pub async fn update_price(ctx: &Ctx, acct: &Acct, id: &str, p: PriceUpdate) -> Result<Price> {
    update(ctx, acct, id, move |price: &mut Price, _, _, _| Ok(price.update(p)?)).await
}

pub async fn get_price(ctx: &Ctx, acct: &Acct, id: &str) -> Result<Price> {
    get(ctx, acct, id).await
}

pub async fn list_prices(ctx: &Ctx, acct: &Acct, p: &PriceList) -> Result<(Vec<Price>, bool)> {
    let mut filters = Vec::new();
    if let Some(a) = p.active {
        filters.push(Filter::Eq(Column::Active, a.0.into()));
    }
    if let Some(product) = &p.product {
        filters.push(Filter::Eq(Column::Product, product.as_str().into()));
    }
    if let Some(c) = &p.currency {
        filters.push(Filter::Eq(Column::Currency, c.to_ascii_lowercase().into()));
    }
    if let Some(t) = &p.r#type {
        if t != "one_time" && t != "recurring" {
            return Err(Invalid::param("type", "`type` must be `one_time` or `recurring`.").into());
        }
        filters.push(Filter::Eq(Column::Type, t.as_str().into()));
    }
    list(ctx, acct, &p.page(), filters, p.created.as_ref()).await
}

pub async fn create_customer(ctx: &Ctx, acct: &Acct, mut p: CustomerCreate) -> Result<Customer> {
    let now = ctx.now();
    let default_pm = p.invoice_settings.take().and_then(|s| s.default_payment_method);
    create(ctx, acct, move |tx, out, account| {
        let clock = p.test_clock.clone().filter(|c| !c.is_empty());
        if let Some(c) = &clock {
            super::billing::check_clock(tx, account, c)?;
        }
        let mut customer = Customer::create(p, now)?;
        customer.test_clock = clock;
        // A new customer has no payment method attached yet: any named one is refused, as Stripe
        // refuses one that is not the customer's.
        customer.default_payment_method = default_method(tx, account, &customer.id, default_pm)?;
        out.emit(tx, account, EventType::CustomerCreated, views::CustomerDoc(&customer))?;
        Ok(customer)
    })
    .await
}

/// `invoice_settings[default_payment_method]`: `Some("")` unsets it; any other value must be a
/// payment method attached to `customer`.
fn default_method(
    tx: &mut dyn kassa_core::store::Tx,
    account: &str,
    customer: &str,
    pm: Option<String>,
) -> Result<Option<String>, kassa_core::store::Abort<DomainError>> {
    const PARAM: &str = "invoice_settings[default_payment_method]";
    let Some(pm) = pm.filter(|m| !m.is_empty()) else { return Ok(None) };
    match tx.load::<kassa_core::billing::PaymentMethod>(account, &pm)? {
        None => Err(Invalid::no_such("payment_method", &pm, PARAM).into()),
        Some(m) if m.customer.as_deref() == Some(customer) => Ok(Some(pm)),
        Some(_) => Err(Invalid::param(
            PARAM,
            format!(
                "The customer does not have a payment method with the ID {pm}. The payment method must be attached to the customer."
            ),
        )
        .into()),
    }
}

pub async fn update_customer(ctx: &Ctx, acct: &Acct, id: &str, mut p: CustomerUpdate) -> Result<Customer> {
    let default_pm = p.invoice_settings.take().and_then(|s| s.default_payment_method);
    update(ctx, acct, id, move |c: &mut Customer, tx, out, account| {
        let before = c.clone();
        c.update(p)?;
        if let Some(pm) = default_pm {
            c.default_payment_method = default_method(tx, account, &c.id, Some(pm))?;
        }
        if *c != before {
            out.emit(tx, account, EventType::CustomerUpdated, views::CustomerDoc(c))?;
        }
        Ok(())
    })
    .await
}

/// `POST /customers/{id}/tax_ids`: the new id, or the one the customer has with the same type
/// and value.
pub async fn create_tax_id(ctx: &Ctx, acct: &Acct, customer: &str, p: TaxIdCreate) -> Result<CustomerTaxId> {
    let tax_id = CustomerTaxId::create(p.r#type, p.value, ctx.now())?;
    let (kind, value) = (tax_id.r#type.clone(), tax_id.value.clone());
    let c = update(ctx, acct, customer, move |c: &mut Customer, tx, out, account| {
        let known = c.tax_ids.len();
        let t = c.add_tax_id(tax_id)?;
        if c.tax_ids.len() > known {
            out.emit(tx, account, EventType::CustomerTaxIdCreated, views::tax_id(&t, &c.id))?;
        }
        Ok(())
    })
    .await?;
    let found = c.tax_ids.into_iter().find(|t| t.r#type == kind && t.value == value);
    found.ok_or_else(|| Invalid::no_such("tax_id", &value, "value").into())
}

/// One of the customer's tax ids.
pub async fn get_tax_id(ctx: &Ctx, acct: &Acct, customer: &str, id: &str) -> Result<CustomerTaxId> {
    let c: Customer = get(ctx, acct, customer).await?;
    c.tax_ids
        .into_iter()
        .find(|t| t.id == id)
        .ok_or_else(|| DomainError::NotFound { object: "tax_id", id: id.to_owned() }.into())
}

/// Delete one of the customer's tax ids.
pub async fn delete_tax_id(ctx: &Ctx, acct: &Acct, customer: &str, id: &str) -> Result<()> {
    let id = id.to_owned();
    update(ctx, acct, customer, move |c: &mut Customer, tx, out, account| {
        let Some(at) = c.tax_ids.iter().position(|t| t.id == id) else {
            return Err(kassa_core::store::Abort::Refused(DomainError::NotFound {
                object: "tax_id",
                id: id.clone(),
            }));
        };
        let gone = c.tax_ids.remove(at);
        out.emit(tx, account, EventType::CustomerTaxIdDeleted, views::tax_id(&gone, &c.id))?;
        Ok(())
    })
    .await?;
    Ok(())
}

/// A page of the customer's tax ids, newest first: `limit` (default 10), `starting_after`,
/// `ending_before`, as every list pages.
pub async fn list_tax_ids(
    ctx: &Ctx,
    acct: &Acct,
    customer: &str,
    p: &TaxIdList,
) -> Result<(Vec<CustomerTaxId>, bool)> {
    if p.created.is_some() {
        return Err(Invalid::new(
            kassa_core::ErrorCode::ParameterUnknown,
            "created",
            "Received unknown parameter: created",
        )
        .into());
    }
    let c: Customer = get(ctx, acct, customer).await?;
    let mut ids = c.tax_ids;
    ids.reverse();
    Ok(super::page_of(&ids, |t| t.id.as_str(), &p.page(), "tax id")?)
}

pub async fn get_customer(ctx: &Ctx, acct: &Acct, id: &str) -> Result<Customer> {
    get(ctx, acct, id).await
}

pub async fn list_customers(ctx: &Ctx, acct: &Acct, p: &CustomerList) -> Result<(Vec<Customer>, bool)> {
    let mut filters = Vec::new();
    if let Some(e) = &p.email {
        filters.push(Filter::Eq(Column::Email, e.as_str().into()));
    }
    list(ctx, acct, &p.page(), filters, p.created.as_ref()).await
}

pub async fn create_coupon(ctx: &Ctx, acct: &Acct, p: CouponCreate) -> Result<Coupon> {
    let now = ctx.now();
    create(ctx, acct, move |tx, _, account| {
        let mut existing = HashSet::new();
        for product in p.applies_to.iter().flat_map(|a| a.products.iter().flatten()) {
            if tx.get(account, Kind::Product, product)?.is_some() {
                existing.insert(product.clone());
            }
        }
        Ok(Coupon::create(p, |id| existing.contains(id), now)?)
    })
    .await
}

pub async fn update_coupon(ctx: &Ctx, acct: &Acct, id: &str, p: CouponUpdate) -> Result<Coupon> {
    update(ctx, acct, id, move |c: &mut Coupon, _, _, _| Ok(c.update(p)?)).await
}

pub async fn get_coupon(ctx: &Ctx, acct: &Acct, id: &str) -> Result<Coupon> {
    get(ctx, acct, id).await
}

/// Delete a coupon. Sessions that already carry its discount keep it; promotion codes for it stop
/// working.
pub async fn delete_coupon(ctx: &Ctx, acct: &Acct, id: &str) -> Result<()> {
    let account = acct.id.clone();
    let owned = id.to_owned();
    let deleted = transact(ctx.store.as_ref(), move |tx| tx.delete(&account, Kind::Coupon, &owned)).await?;
    if deleted {
        Ok(())
    } else {
        Err(DomainError::NotFound { object: Coupon::KIND.object(), id: id.to_owned() }.into())
    }
}

pub async fn list_coupons(ctx: &Ctx, acct: &Acct, p: &CouponList) -> Result<(Vec<Coupon>, bool)> {
    list(ctx, acct, &p.page(), Vec::new(), p.created.as_ref()).await
}

/// A promotion code and its coupon (which Stripe embeds), `None` if the coupon was deleted.
pub type CodeWithCoupon = (PromotionCode, Option<Coupon>);

pub async fn create_promotion_code(ctx: &Ctx, acct: &Acct, p: PromotionCodeCreate) -> Result<CodeWithCoupon> {
    let now = ctx.now();
    let code = create(ctx, acct, move |tx, _, account| {
        let coupon_id = p.coupon.clone().or_else(|| p.promotion.as_ref().and_then(|x| x.coupon.clone()));
        let coupon: Option<Coupon> = match coupon_id {
            Some(id) => tx.load(account, &id)?,
            None => None,
        };
        let customer: Option<Customer> = match p.customer.as_deref() {
            Some(id) => tx.load(account, id)?,
            None => None,
        };
        Ok(PromotionCode::create(p, coupon.as_ref(), customer.as_ref(), now)?)
    })
    .await?;
    with_coupon(ctx, acct, code).await
}

pub async fn update_promotion_code(
    ctx: &Ctx,
    acct: &Acct,
    id: &str,
    p: PromotionCodeUpdate,
) -> Result<CodeWithCoupon> {
    let code = update(ctx, acct, id, move |c: &mut PromotionCode, _, _, _| Ok(c.update(p)?)).await?;
    with_coupon(ctx, acct, code).await
}

pub async fn get_promotion_code(ctx: &Ctx, acct: &Acct, id: &str) -> Result<CodeWithCoupon> {
    let code = get(ctx, acct, id).await?;
    with_coupon(ctx, acct, code).await
}

pub async fn list_promotion_codes(
    ctx: &Ctx,
    acct: &Acct,
    p: &PromotionCodeList,
) -> Result<(Vec<CodeWithCoupon>, bool)> {
    let mut filters = Vec::new();
    if let Some(a) = p.active {
        filters.push(Filter::Eq(Column::Active, a.0.into()));
    }
    if let Some(code) = &p.code {
        filters.push(Filter::Eq(Column::Code, code.to_ascii_lowercase().into()));
    }
    if let Some(c) = &p.coupon {
        filters.push(Filter::Eq(Column::Coupon, c.as_str().into()));
    }
    if let Some(c) = &p.customer {
        filters.push(Filter::Eq(Column::Customer, Value::from(c.as_str())));
    }
    let (codes, has_more) = list::<PromotionCode>(ctx, acct, &p.page(), filters, p.created.as_ref()).await?;
    let keys: Vec<(Kind, String)> = codes.iter().map(|c| (Kind::Coupon, c.coupon.clone())).collect();
    let coupons = ctx.store.get_many(&acct.id, keys).await?;
    let coupons: Vec<Coupon> = coupons.iter().map(Coupon::from_raw).collect::<Result<_, StoreError>>()?;
    let out = codes
        .into_iter()
        .map(|code| {
            let coupon = coupons.iter().find(|c| c.id == code.coupon).cloned();
            (code, coupon)
        })
        .collect();
    Ok((out, has_more))
}

async fn with_coupon(ctx: &Ctx, acct: &Acct, code: PromotionCode) -> Result<CodeWithCoupon> {
    use kassa_core::store::StoreExt;
    let coupon = ctx.store.load::<Coupon>(&acct.id, &code.coupon).await?;
    Ok((code, coupon))
}

pub async fn create_tax_rate(ctx: &Ctx, acct: &Acct, p: TaxRateCreate) -> Result<TaxRate> {
    let now = ctx.now();
    create(ctx, acct, move |_, _, _| Ok(TaxRate::create(p, now)?)).await
}

pub async fn update_tax_rate(ctx: &Ctx, acct: &Acct, id: &str, p: TaxRateUpdate) -> Result<TaxRate> {
    update(ctx, acct, id, move |rate: &mut TaxRate, _, _, _| Ok(rate.update(p)?)).await
}

pub async fn get_tax_rate(ctx: &Ctx, acct: &Acct, id: &str) -> Result<TaxRate> {
    get(ctx, acct, id).await
}

pub async fn list_tax_rates(ctx: &Ctx, acct: &Acct, p: &TaxRateList) -> Result<(Vec<TaxRate>, bool)> {
    let mut filters = Vec::new();
    if let Some(a) = p.active {
        filters.push(Filter::Eq(Column::Active, a.0.into()));
    }
    if let Some(i) = p.inclusive {
        filters.push(Filter::Eq(Column::Inclusive, i.0.into()));
    }
    list(ctx, acct, &p.page(), filters, p.created.as_ref()).await
}
