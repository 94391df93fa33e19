//! The API handlers, one module per resource. Each handler: validate `expand` (so a bad path
//! refuses the request before anything changes), call one service function, render the result and
//! apply `expand`.

pub mod billing;
pub mod catalog;
pub mod charges;
pub mod events;
pub mod payments;
pub mod portal;
pub mod sessions;
pub mod shipping;
pub mod subscriptions;

use axum::Json;
use axum::extract::OriginalUri;
use serde_json::Value;

use super::error::ApiError;
use crate::service::Acct;
use crate::service::expand::{self, Ty};
use crate::state::Ctx;

/// Validated `expand[]` paths for an object of type `ty`.
pub fn paths(ty: Ty, expand: &Option<Vec<String>>) -> Result<Vec<Vec<String>>, ApiError> {
    Ok(expand::validate(ty, expand.as_deref().unwrap_or_default())?)
}

/// Apply `paths` to a rendered object.
pub async fn expanded(
    ctx: &Ctx,
    acct: &Acct,
    mut value: Value,
    ty: Ty,
    paths: &[Vec<String>],
) -> Result<Value, ApiError> {
    if !paths.is_empty() {
        expand::apply(ctx, acct, &mut value, ty, paths).await?;
    }
    Ok(value)
}

/// A list response: its `url` is the path the client asked for.
pub async fn list_response(
    ctx: &Ctx,
    acct: &Acct,
    uri: &OriginalUri,
    data: Vec<Value>,
    has_more: bool,
    elem: &'static Ty,
    paths: &[Vec<String>],
) -> Result<Json<Value>, ApiError> {
    let list = crate::views::list(uri.path(), data, has_more);
    Ok(Json(expanded(ctx, acct, list, Ty::List(elem), paths).await?))
}
