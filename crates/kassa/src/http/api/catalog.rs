//! Products, prices, customers, coupons, promotion codes and tax rates.

use super::Json;
use axum::extract::{OriginalUri, State};
use kassa_core::params::{
    CouponCreate, CouponList, CouponUpdate, CustomerCreate, CustomerList, CustomerUpdate, PriceCreate,
    PriceList, PriceUpdate, ProductCreate, ProductList, ProductUpdate, PromotionCodeCreate,
    PromotionCodeList, PromotionCodeUpdate, Retrieve, TaxIdCreate, TaxIdList, TaxRateCreate, TaxRateList,
    TaxRateUpdate,
};
use serde_json::Value;

use super::{expanded, list, paths, retrieve};
use crate::http::error::ApiError;
use crate::http::extract::{Authed, Created, Params, PathId};
use crate::service::catalog as svc;
use crate::service::expand::Ty;
use crate::state::AppState;
use crate::views;

type Res<T> = Result<T, ApiError>;

pub async fn create_product(
    State(ctx): State<AppState>,
    Authed(a): Authed,
    Params(p): Params<ProductCreate>,
) -> Res<Created> {
    let x = paths(Ty::Product, &p.expand)?;
    let v = views::product(&svc::create_product(&ctx, &a, p).await?);
    Ok(Created(expanded(&ctx, &a, v, Ty::Product, &x).await?))
}

pub async fn get_product(
    State(ctx): State<AppState>,
    Authed(a): Authed,
    PathId(id): PathId,
    Params(p): Params<Retrieve>,
) -> Res<Json<Value>> {
    retrieve(&ctx, &a, &p, Ty::Product, svc::get_product(&ctx, &a, &id), views::product).await
}

pub async fn update_product(
    State(ctx): State<AppState>,
    Authed(a): Authed,
    PathId(id): PathId,
    Params(p): Params<ProductUpdate>,
) -> Res<Json<Value>> {
    let x = paths(Ty::Product, &p.expand)?;
    let v = views::product(&svc::update_product(&ctx, &a, &id, p).await?);
    Ok(Json(expanded(&ctx, &a, v, Ty::Product, &x).await?))
}

pub async fn list_products(
    State(ctx): State<AppState>,
    Authed(a): Authed,
    uri: OriginalUri,
    Params(p): Params<ProductList>,
) -> Res<Json<Value>> {
    list(&ctx, &a, &uri, &p.expand, &Ty::Product, svc::list_products(&ctx, &a, &p), |x| views::product(&x))
        .await
}

pub async fn create_price(
    State(ctx): State<AppState>,
    Authed(a): Authed,
    Params(p): Params<PriceCreate>,
) -> Res<Created> {
    let x = paths(Ty::Price, &p.expand)?;
    let v = views::price(&svc::create_price(&ctx, &a, p).await?);
    Ok(Created(expanded(&ctx, &a, v, Ty::Price, &x).await?))
}

pub async fn get_price(
    State(ctx): State<AppState>,
    Authed(a): Authed,
    PathId(id): PathId,
    Params(p): Params<Retrieve>,
) -> Res<Json<Value>> {
    retrieve(&ctx, &a, &p, Ty::Price, svc::get_price(&ctx, &a, &id), views::price).await
}

pub async fn update_price(
    State(ctx): State<AppState>,
    Authed(a): Authed,
    PathId(id): PathId,
    Params(p): Params<PriceUpdate>,
) -> Res<Json<Value>> {
    let x = paths(Ty::Price, &p.expand)?;
    let v = views::price(&svc::update_price(&ctx, &a, &id, p).await?);
    Ok(Json(expanded(&ctx, &a, v, Ty::Price, &x).await?))
}

pub async fn list_prices(
    State(ctx): State<AppState>,
    Authed(a): Authed,
    uri: OriginalUri,
    Params(p): Params<PriceList>,
) -> Res<Json<Value>> {
    list(&ctx, &a, &uri, &p.expand, &Ty::Price, svc::list_prices(&ctx, &a, &p), |x| views::price(&x)).await
}

pub async fn create_customer(
    State(ctx): State<AppState>,
    Authed(a): Authed,
    Params(p): Params<CustomerCreate>,
) -> Res<Created> {
    let x = paths(Ty::Customer, &p.expand)?;
    let v = views::customer(&svc::create_customer(&ctx, &a, p).await?);
    Ok(Created(expanded(&ctx, &a, v, Ty::Customer, &x).await?))
}

pub async fn get_customer(
    State(ctx): State<AppState>,
    Authed(a): Authed,
    PathId(id): PathId,
    Params(p): Params<Retrieve>,
) -> Res<Json<Value>> {
    retrieve(&ctx, &a, &p, Ty::Customer, svc::get_customer(&ctx, &a, &id), views::customer).await
}

pub async fn update_customer(
    State(ctx): State<AppState>,
    Authed(a): Authed,
    PathId(id): PathId,
    Params(p): Params<CustomerUpdate>,
) -> Res<Json<Value>> {
    let x = paths(Ty::Customer, &p.expand)?;
    let v = views::customer(&svc::update_customer(&ctx, &a, &id, p).await?);
    Ok(Json(expanded(&ctx, &a, v, Ty::Customer, &x).await?))
}

pub async fn list_customers(
    State(ctx): State<AppState>,
    Authed(a): Authed,
    uri: OriginalUri,
    Params(p): Params<CustomerList>,
) -> Res<Json<Value>> {
    list(&ctx, &a, &uri, &p.expand, &Ty::Customer, svc::list_customers(&ctx, &a, &p), |x| views::customer(&x))
        .await
}

pub async fn create_coupon(
    State(ctx): State<AppState>,
    Authed(a): Authed,
    Params(p): Params<CouponCreate>,
) -> Res<Created> {
    let x = paths(Ty::Coupon, &p.expand)?;
    let v = views::coupon(&svc::create_coupon(&ctx, &a, p).await?, ctx.now());
    Ok(Created(expanded(&ctx, &a, v, Ty::Coupon, &x).await?))
}

pub async fn get_coupon(
    State(ctx): State<AppState>,
    Authed(a): Authed,
    PathId(id): PathId,
    Params(p): Params<Retrieve>,
) -> Res<Json<Value>> {
    let now = ctx.now();
    retrieve(&ctx, &a, &p, Ty::Coupon, svc::get_coupon(&ctx, &a, &id), |c| views::coupon(c, now)).await
}

pub async fn update_coupon(
    State(ctx): State<AppState>,
    Authed(a): Authed,
    PathId(id): PathId,
    Params(p): Params<CouponUpdate>,
) -> Res<Json<Value>> {
    let x = paths(Ty::Coupon, &p.expand)?;
    let v = views::coupon(&svc::update_coupon(&ctx, &a, &id, p).await?, ctx.now());
    Ok(Json(expanded(&ctx, &a, v, Ty::Coupon, &x).await?))
}

pub async fn delete_coupon(
    State(ctx): State<AppState>,
    Authed(a): Authed,
    PathId(id): PathId,
    Params(_): Params<Retrieve>,
) -> Res<Json<Value>> {
    svc::delete_coupon(&ctx, &a, &id).await?;
    Ok(Json(views::deleted("coupon", &id)))
}

pub async fn list_coupons(
    State(ctx): State<AppState>,
    Authed(a): Authed,
    uri: OriginalUri,
    Params(p): Params<CouponList>,
) -> Res<Json<Value>> {
    let now = ctx.now();
    let page = svc::list_coupons(&ctx, &a, &p);
    list(&ctx, &a, &uri, &p.expand, &Ty::Coupon, page, |c| views::coupon(&c, now)).await
}

fn code_view(ctx: &AppState, (code, coupon): &svc::CodeWithCoupon) -> Value {
    views::promotion_code(code, coupon.as_ref(), ctx.now())
}

pub async fn create_promotion_code(
    State(ctx): State<AppState>,
    Authed(a): Authed,
    Params(p): Params<PromotionCodeCreate>,
) -> Res<Created> {
    let x = paths(Ty::PromotionCode, &p.expand)?;
    let v = code_view(&ctx, &svc::create_promotion_code(&ctx, &a, p).await?);
    Ok(Created(expanded(&ctx, &a, v, Ty::PromotionCode, &x).await?))
}

pub async fn get_promotion_code(
    State(ctx): State<AppState>,
    Authed(a): Authed,
    PathId(id): PathId,
    Params(p): Params<Retrieve>,
) -> Res<Json<Value>> {
    let found = svc::get_promotion_code(&ctx, &a, &id);
    retrieve(&ctx, &a, &p, Ty::PromotionCode, found, |c| code_view(&ctx, c)).await
}

pub async fn update_promotion_code(
    State(ctx): State<AppState>,
    Authed(a): Authed,
    PathId(id): PathId,
    Params(p): Params<PromotionCodeUpdate>,
) -> Res<Json<Value>> {
    let x = paths(Ty::PromotionCode, &p.expand)?;
    let v = code_view(&ctx, &svc::update_promotion_code(&ctx, &a, &id, p).await?);
    Ok(Json(expanded(&ctx, &a, v, Ty::PromotionCode, &x).await?))
}

pub async fn list_promotion_codes(
    State(ctx): State<AppState>,
    Authed(a): Authed,
    uri: OriginalUri,
    Params(p): Params<PromotionCodeList>,
) -> Res<Json<Value>> {
    let page = svc::list_promotion_codes(&ctx, &a, &p);
    list(&ctx, &a, &uri, &p.expand, &Ty::PromotionCode, page, |c| code_view(&ctx, &c)).await
}

pub async fn create_tax_rate(
    State(ctx): State<AppState>,
    Authed(a): Authed,
    Params(p): Params<TaxRateCreate>,
) -> Res<Created> {
    let x = paths(Ty::TaxRate, &p.expand)?;
    let v = views::tax_rate(&svc::create_tax_rate(&ctx, &a, p).await?);
    Ok(Created(expanded(&ctx, &a, v, Ty::TaxRate, &x).await?))
}

pub async fn get_tax_rate(
    State(ctx): State<AppState>,
    Authed(a): Authed,
    PathId(id): PathId,
    Params(p): Params<Retrieve>,
) -> Res<Json<Value>> {
    retrieve(&ctx, &a, &p, Ty::TaxRate, svc::get_tax_rate(&ctx, &a, &id), views::tax_rate).await
}

pub async fn update_tax_rate(
    State(ctx): State<AppState>,
    Authed(a): Authed,
    PathId(id): PathId,
    Params(p): Params<TaxRateUpdate>,
) -> Res<Json<Value>> {
    let x = paths(Ty::TaxRate, &p.expand)?;
    let v = views::tax_rate(&svc::update_tax_rate(&ctx, &a, &id, p).await?);
    Ok(Json(expanded(&ctx, &a, v, Ty::TaxRate, &x).await?))
}

pub async fn list_tax_rates(
    State(ctx): State<AppState>,
    Authed(a): Authed,
    uri: OriginalUri,
    Params(p): Params<TaxRateList>,
) -> Res<Json<Value>> {
    list(&ctx, &a, &uri, &p.expand, &Ty::TaxRate, svc::list_tax_rates(&ctx, &a, &p), |x| views::tax_rate(&x))
        .await
}

/// `{id}` and `{tax_id}` of `/customers/{id}/tax_ids/{tax_id}`.
fn ids(path: axum::extract::Path<(String, String)>) -> (String, String) {
    path.0
}

pub async fn create_tax_id(
    State(ctx): State<AppState>,
    Authed(a): Authed,
    PathId(customer): PathId,
    Params(p): Params<TaxIdCreate>,
) -> Res<Created> {
    let t = svc::create_tax_id(&ctx, &a, &customer, p).await?;
    Ok(Created(views::tax_id(&t, &customer)))
}

pub async fn list_tax_ids(
    State(ctx): State<AppState>,
    Authed(a): Authed,
    PathId(customer): PathId,
    Params(p): Params<TaxIdList>,
) -> Res<Json<Value>> {
    let (items, more) = svc::list_tax_ids(&ctx, &a, &customer, &p).await?;
    let data = items.iter().map(|t| views::tax_id(t, &customer)).collect();
    Ok(Json(views::list(&format!("/v1/customers/{customer}/tax_ids"), data, more)))
}

pub async fn get_tax_id(
    State(ctx): State<AppState>,
    Authed(a): Authed,
    path: axum::extract::Path<(String, String)>,
    Params(_): Params<Retrieve>,
) -> Res<Json<Value>> {
    let (customer, id) = ids(path);
    let t = svc::get_tax_id(&ctx, &a, &customer, &id).await?;
    Ok(Json(views::tax_id(&t, &customer)))
}

pub async fn delete_tax_id(
    State(ctx): State<AppState>,
    Authed(a): Authed,
    path: axum::extract::Path<(String, String)>,
    Params(_): Params<Retrieve>,
) -> Res<Json<Value>> {
    let (customer, id) = ids(path);
    svc::delete_tax_id(&ctx, &a, &customer, &id).await?;
    Ok(Json(views::deleted("tax_id", &id)))
}
