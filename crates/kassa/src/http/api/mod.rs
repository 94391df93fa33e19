//! The API handlers, one module per resource. Each handler: validate `expand` (so a bad path
//! refuses the request before anything changes), call one service function, render the result and
//! apply `expand`. A plain retrieve or list says only which service call and which view: [`retrieve`]
//! and [`list`] do the rest.

pub mod billing;
pub mod catalog;
pub mod charges;
pub mod events;
pub mod payments;
pub mod portal;
pub mod sessions;
pub mod shipping;
pub mod subscriptions;

use axum::extract::OriginalUri;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use kassa_core::params::Retrieve;
use serde_json::Value;

use super::error::ApiError;
use crate::service::expand::{self, Ty};
use crate::service::{self, Acct};
use crate::state::Ctx;

tokio::task_local! {
    /// Set while the dashboard calls the API in-process ([`in_process`]).
    static IN_PROCESS: ();
}

/// An API answer: JSON on the wire; for an in-process caller (the dashboard, [`in_process`]) the
/// object itself, as an [`Answer`] in the response's extensions and no body, so that the caller
/// does not parse back what was just written (serializing and parsing each object was a quarter
/// of the dashboard's list pages in a profile).
pub struct Json<T>(pub T);

/// What an API answer holds for an in-process caller.
#[derive(Clone)]
pub struct Answer(pub Value);

impl IntoResponse for Json<Value> {
    fn into_response(self) -> Response {
        if IN_PROCESS.try_with(|()| ()).is_ok() {
            let mut r = StatusCode::OK.into_response();
            r.extensions_mut().insert(Answer(self.0));
            r
        } else {
            axum::Json(self.0).into_response()
        }
    }
}

/// A typed document answered with `status`, serialized straight into the response body (no
/// `Value` on the way: for a created session, the `Value` and its serialization were a quarter
/// of the request's instructions). An in-process caller gets it as an [`Answer`], like [`Json`].
pub struct Doc<T>(pub StatusCode, pub T);

impl<T: serde::Serialize> IntoResponse for Doc<T> {
    fn into_response(self) -> Response {
        let Doc(status, doc) = self;
        if IN_PROCESS.try_with(|()| ()).is_ok() {
            return match serde_json::to_value(&doc) {
                Ok(value) => {
                    let mut r = status.into_response();
                    r.extensions_mut().insert(Answer(value));
                    r
                }
                Err(e) => unrenderable(&e),
            };
        }
        // A session is about 2.5 KB: one allocation, usually. kassa's writer: serde_json's text
        // with less work per byte (`kassa_core::json`).
        let mut body = Vec::with_capacity(4096);
        match kassa_core::json::write(&mut body, &doc) {
            Ok(()) => {
                (status, [(axum::http::header::CONTENT_TYPE, "application/json")], body).into_response()
            }
            Err(e) => unrenderable(&e),
        }
    }
}

/// A document that did not serialize (a bug: kassa's documents have string keys and no
/// non-finite numbers): logged, answered as an internal error.
fn unrenderable(e: &serde_json::Error) -> Response {
    tracing::error!(error = %e, "an answer could not be serialized");
    ApiError::Panicked.into_response()
}

/// `call` (a request to the API's router) as an in-process call: its answers carry their objects
/// as [`Answer`]s instead of JSON bodies (error answers stay JSON).
pub async fn in_process<F: Future>(call: F) -> F::Output {
    IN_PROCESS.scope((), call).await
}

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

/// An object by id, with nothing but `expand[]` to say (`GET /{objects}/{id}`, and actions such as
/// `POST /invoices/{id}/finalize`): refuse a bad `expand[]` path, then await `get` (a service call,
/// an `async fn` that does nothing until then), render its object with `view` and expand it.
pub async fn retrieve<T>(
    ctx: &Ctx,
    acct: &Acct,
    p: &Retrieve,
    ty: Ty,
    get: impl Future<Output = service::Result<T>>,
    view: impl FnOnce(&T) -> Value,
) -> Result<Json<Value>, ApiError> {
    let x = paths(ty, &p.expand)?;
    let v = view(&get.await?);
    Ok(Json(expanded(ctx, acct, v, ty, &x).await?))
}

/// `GET /{objects}`: refuse a bad `expand[]` path, then await `page` (a service call answering one
/// page of objects and whether there are more after it), render each with `view` and answer the
/// list, expanded. `view` takes each object as its own, so that it may move a large part (an
/// event's object) into the answer instead of copying it.
pub async fn list<T>(
    ctx: &Ctx,
    acct: &Acct,
    uri: &OriginalUri,
    expand: &Option<Vec<String>>,
    elem: &'static Ty,
    page: impl Future<Output = service::Result<(Vec<T>, bool)>>,
    view: impl FnMut(T) -> Value,
) -> Result<Json<Value>, ApiError> {
    let x = paths(Ty::List(elem), expand)?;
    let (items, more) = page.await?;
    list_response(ctx, acct, uri, items.into_iter().map(view).collect(), more, elem, &x).await
}
