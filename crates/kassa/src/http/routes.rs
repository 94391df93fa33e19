//! The route table: the one list that both builds the router and writes `GET /openapi.json`.
//!
//! A route is added with [`Table::get`], [`Table::post`] or [`Table::delete`]: its path, its
//! handler, a summary, and what it answers ([`Answer`]). The router is built from the table and the
//! document is built from the same table, so a route cannot exist without its entry in the
//! document. The request parameters are not named here: they are read off the handler's own
//! signature, whose last argument is a [`Params<T>`]; `T`'s derived `JsonSchema`
//! (`kassa_core::params`) describes them. The response is the schema `Answer` names in
//! [`crate::schemas`], and the black-box suite checks every live response against it.
//!
//! **Adding a route:** one line in `http::api_routes`, e.g.
//! `.post("/refunds", refunds::create, "Create a refund", Answer::Created("refund"))`, a schema named
//! `refund` in `crate::schemas`, and a handler taking `Params<RefundCreate>` last.

use axum::Router;
use axum::handler::Handler;
use axum::routing::{MethodFilter, on};
use schemars::{JsonSchema, Schema, SchemaGenerator};

use super::extract::Params;
use crate::state::AppState;

/// An HTTP method the API uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    Get,
    Post,
    Delete,
}

impl Verb {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Get => "get",
            Self::Post => "post",
            Self::Delete => "delete",
        }
    }

    fn filter(self) -> MethodFilter {
        match self {
            Self::Get => MethodFilter::GET,
            Self::Post => MethodFilter::POST,
            Self::Delete => MethodFilter::DELETE,
        }
    }
}

/// What a route answers with on success; the names are schemas of [`crate::schemas`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// 200 with the object.
    Object(&'static str),
    /// 201 with the new object (200 under `/v1`, as Stripe answers).
    Created(&'static str),
    /// 200 with a list of the objects.
    List(&'static str),
    /// 200 with `{"id", "object", "deleted": true}`.
    Deleted(&'static str),
}

/// One operation of the table, as the document describes it.
pub struct Op {
    pub verb: Verb,
    /// axum's path syntax: `/products/{id}`.
    pub path: String,
    pub summary: &'static str,
    pub answer: Answer,
    /// The JSON Schema of the parameters (query string or body).
    pub params: fn(&mut SchemaGenerator) -> Schema,
}

/// The handler's parameter type: the `T` of the `Params<T>` it takes last. axum's `Handler` is
/// implemented for `(M, T1, …, Tn)`, the extractors of the function in order.
pub trait ParamsOf<P> {}
impl<M, A, P> ParamsOf<P> for (M, A, Params<P>) {}
impl<M, A, B, P> ParamsOf<P> for (M, A, B, Params<P>) {}
impl<M, A, B, C, P> ParamsOf<P> for (M, A, B, C, Params<P>) {}
impl<M, A, B, C, D, P> ParamsOf<P> for (M, A, B, C, D, Params<P>) {}

fn schema_of<P: JsonSchema>(generator: &mut SchemaGenerator) -> Schema {
    generator.subschema_for::<P>()
}

/// A router under construction, with the operations it serves.
pub struct Table {
    router: Router<AppState>,
    ops: Vec<Op>,
}

impl Default for Table {
    fn default() -> Self {
        Self::new()
    }
}

impl Table {
    pub fn new() -> Self {
        Self { router: Router::new(), ops: Vec::new() }
    }

    fn add<H, T, P>(
        mut self,
        verb: Verb,
        path: &str,
        handler: H,
        summary: &'static str,
        answer: Answer,
    ) -> Self
    where
        H: Handler<T, AppState>,
        T: ParamsOf<P> + 'static,
        P: JsonSchema,
    {
        self.router = self.router.route(path, on(verb.filter(), handler));
        self.ops.push(Op { verb, path: path.to_owned(), summary, answer, params: schema_of::<P> });
        self
    }

    pub fn get<H, T, P>(self, path: &str, handler: H, summary: &'static str, answer: Answer) -> Self
    where
        H: Handler<T, AppState>,
        T: ParamsOf<P> + 'static,
        P: JsonSchema,
    {
        self.add(Verb::Get, path, handler, summary, answer)
    }

    pub fn post<H, T, P>(self, path: &str, handler: H, summary: &'static str, answer: Answer) -> Self
    where
        H: Handler<T, AppState>,
        T: ParamsOf<P> + 'static,
        P: JsonSchema,
    {
        self.add(Verb::Post, path, handler, summary, answer)
    }

    pub fn delete<H, T, P>(self, path: &str, handler: H, summary: &'static str, answer: Answer) -> Self
    where
        H: Handler<T, AppState>,
        T: ParamsOf<P> + 'static,
        P: JsonSchema,
    {
        self.add(Verb::Delete, path, handler, summary, answer)
    }

    pub fn ops(&self) -> &[Op] {
        &self.ops
    }

    pub fn into_parts(self) -> (Router<AppState>, Vec<Op>) {
        (self.router, self.ops)
    }
}
