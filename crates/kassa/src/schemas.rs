//! The JSON Schema of every object [`crate::views`] renders, for `GET /openapi.json`.
//!
//! The views build their JSON with `serde_json::json!`, so no type says what they look like: this
//! module says it, one function per object, next to the view of the same name. Every object
//! schema is strict — each field listed, all of them `required`, `additionalProperties: false` —
//! and the black-box suite (`crates/kassa/tests/api/helpers.rs`) validates every API response it
//! receives against the schema of its route and status. So a view and its schema cannot drift
//! apart unnoticed: a field added to a view without its schema, a field dropped, or a value of
//! another type fails the tests that see it.
//!
//! **Adding a field to a view:** add it here, in the same object, with its type: `string()`,
//! `int()`, `boolean()`, `nullable(…)`, `always_null()` (a field kassa renders as `null` for
//! now), `metadata()`, `expandable("customer")` (an id that `expand[]` can turn into the object),
//! `object(&[…])` for an embedded object. A field a view renders only sometimes goes in the second
//! list of [`object_with_optional`]. **Adding an object:** write its function — an object with an
//! `id` is `resource("its object").with(&[…])`, which puts `id` and `object` first — and name it in
//! [`components`]; a route answers it through `Answer` in `http::routes`.

use serde_json::{Map, Value, json};

/// Where the document keeps the schemas below.
pub const PREFIX: &str = "#/components/schemas/";

/// `{"$ref": …}` to the schema of the object `name` (its `object` value).
pub fn reference(name: &str) -> Value {
    json!({ "$ref": format!("{PREFIX}{name}") })
}

/// Every named schema of the document: `components.schemas`.
pub fn components() -> Map<String, Value> {
    let mut m = Map::new();
    let mut add = |name: &str, schema: Value| {
        m.insert(name.to_owned(), schema);
    };
    add("error", error());
    add("product", product());
    add("price", price());
    add("customer", customer());
    add("coupon", coupon());
    add("tax_rate", tax_rate());
    add("tax_id", tax_id());
    add("promotion_code", promotion_code());
    add("item", line_item());
    add("checkout.session", session());
    add("discount", discount());
    add("payment_intent", payment_intent());
    add("payment_method", payment_method());
    add("setup_intent", setup_intent());
    add("subscription", subscription());
    add("subscription_item", subscription_item());
    add("invoiceitem", invoice_item());
    add("invoice", invoice());
    add("upcoming_invoice", upcoming_invoice());
    add("charge", charge());
    add("refund", refund());
    add("event", event());
    add("webhook_endpoint", webhook_endpoint());
    add("webhook_delivery", webhook_delivery());
    add("test_helpers.test_clock", test_clock());
    add("shipping_rate", shipping_rate());
    add("customer_cash_balance_transaction", cash_balance_transaction());
    add("billing_portal.configuration", portal_configuration());
    add("billing_portal.session", portal_session());
    for deleted in ["coupon", "webhook_endpoint", "test_helpers.test_clock", "tax_id", "invoiceitem"] {
        add(&format!("deleted_{deleted}"), deleted_object(deleted));
    }
    add("health", health());
    m
}

// ---------------------------------------------------------------------------------------------
// The vocabulary.

fn string() -> Value {
    json!({"type": "string"})
}

fn int() -> Value {
    json!({"type": "integer"})
}

fn boolean() -> Value {
    json!({"type": "boolean"})
}

/// A field kassa renders as `null` (Stripe's, with nothing behind it in kassa yet).
fn always_null() -> Value {
    json!({"type": "null"})
}

fn nullable(schema: Value) -> Value {
    match schema.get("type").and_then(Value::as_str) {
        Some(t) if schema.as_object().is_some_and(|o| o.len() == 1) => json!({"type": [t, "null"]}),
        _ => json!({"anyOf": [schema, {"type": "null"}]}),
    }
}

fn nstring() -> Value {
    nullable(string())
}

fn nint() -> Value {
    nullable(int())
}

/// The constant `object` of an object.
fn tag(name: &str) -> Value {
    json!({"type": "string", "const": name})
}

fn one_of(values: &[&str]) -> Value {
    json!({"type": "string", "enum": values})
}

fn array(items: Value) -> Value {
    json!({"type": "array", "items": items})
}

/// An array kassa always renders empty.
fn empty_array() -> Value {
    json!({"type": "array", "maxItems": 0})
}

/// An object kassa always renders empty (`{}`).
fn empty_object() -> Value {
    json!({"type": "object", "additionalProperties": false})
}

fn metadata() -> Value {
    json!({"type": "object", "additionalProperties": {"type": "string"}})
}

/// An id that `expand[]` replaces with the object it names.
fn expandable(name: &str) -> Value {
    json!({"anyOf": [{"type": "string"}, reference(name)]})
}

/// An object whose fields are all present.
fn object(fields: &[(&str, Value)]) -> Value {
    object_with_optional(fields, &[])
}

/// An object with `fields` always present and `optional` ones only sometimes.
fn object_with_optional(fields: &[(&str, Value)], optional: &[(&str, Value)]) -> Value {
    let mut properties = Map::new();
    for (name, schema) in fields.iter().chain(optional) {
        properties.insert((*name).to_owned(), schema.clone());
    }
    let required: Vec<&str> = fields.iter().map(|(name, _)| *name).collect();
    json!({
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": false,
    })
}

/// An object with an `id` whose `object` is `name`: `resource("price").with(&[…])` lists the
/// fields that follow those two.
fn resource(name: &str) -> Resource<'_> {
    Resource(name)
}

struct Resource<'a>(&'a str);

impl Resource<'_> {
    fn with(self, fields: &[(&str, Value)]) -> Value {
        self.with_optional(fields, &[])
    }

    /// With `optional` fields too, as [`object_with_optional`].
    fn with_optional(self, fields: &[(&str, Value)], optional: &[(&str, Value)]) -> Value {
        let mut all = vec![("id", string()), ("object", tag(self.0))];
        all.extend(fields.iter().cloned());
        object_with_optional(&all, optional)
    }
}

/// A list object of `items`: `{"object": "list", "data": […], "has_more", "url"}`.
pub fn list(items: Value) -> Value {
    list_with(items, &[])
}

/// An embedded list that holds every element, with `total_count`.
fn complete_list(items: Value) -> Value {
    list_with(items, &[("total_count", int())])
}

/// A list object with `extra` fields before its `url`.
fn list_with(items: Value, extra: &[(&str, Value)]) -> Value {
    let mut fields = vec![("object", tag("list")), ("data", array(items)), ("has_more", boolean())];
    fields.extend(extra.iter().cloned());
    fields.push(("url", string()));
    object(&fields)
}

/// A postal address whose six fields are each `field`: `nstring` for a customer's or a session's,
/// `always_null` for a payment method's billing address, which kassa leaves empty.
fn address_of(field: fn() -> Value) -> Value {
    let names = ["city", "country", "line1", "line2", "postal_code", "state"];
    let fields: Vec<(&str, Value)> = names.iter().map(|name| (*name, field())).collect();
    object(&fields)
}

/// An object that is only `{"enabled": …}`.
fn toggle() -> Value {
    object(&[("enabled", boolean())])
}

/// A tax amount's `taxability_reason`.
fn taxability_reason() -> Value {
    one_of(&["standard_rated", "zero_rated", "customer_exempt", "reverse_charge"])
}

/// A price's or shipping rate's `tax_behavior`.
fn tax_behavior() -> Value {
    one_of(&["inclusive", "exclusive", "unspecified"])
}

/// A customer's `tax_exempt` (and the copy an invoice keeps).
fn tax_exempt() -> Value {
    one_of(&["none", "exempt", "reverse"])
}

/// A subscription's or an invoice's `collection_method`.
fn collection_method() -> Value {
    one_of(&["charge_automatically", "send_invoice"])
}

/// An invoice's `custom_fields` (also what a session's `invoice_creation` gives it).
fn invoice_custom_fields() -> Value {
    nullable(array(object(&[("name", string()), ("value", string())])))
}

/// The `period` an invoice item or an invoice line covers.
fn period() -> Value {
    object(&[("end", int()), ("start", int())])
}

// ---------------------------------------------------------------------------------------------
// The objects, in the order of `views`.

/// Stripe's error body (`http::error`).
fn error() -> Value {
    object(&[(
        "error",
        // What does not apply is left out, as Stripe does.
        object_with_optional(
            &[
                ("type", one_of(&["api_error", "card_error", "idempotency_error", "invalid_request_error"])),
                ("message", string()),
            ],
            &[("code", string()), ("param", string()), ("decline_code", string())],
        ),
    )])
}

/// `GET /health`.
fn health() -> Value {
    object_with_optional(&[("status", one_of(&["ok", "unavailable"]))], &[("reason", string())])
}

fn product() -> Value {
    resource("product").with(&[
        ("active", boolean()),
        ("created", int()),
        ("default_price", always_null()),
        ("description", nstring()),
        ("images", array(string())),
        ("livemode", boolean()),
        ("marketing_features", empty_array()),
        ("metadata", metadata()),
        ("name", string()),
        ("package_dimensions", always_null()),
        ("shippable", always_null()),
        ("statement_descriptor", always_null()),
        ("tax_code", nstring()),
        ("tax_details", always_null()),
        ("type", tag("service")),
        ("unit_label", always_null()),
        ("updated", int()),
        ("url", always_null()),
    ])
}

fn price() -> Value {
    let recurring = object(&[
        ("aggregate_usage", always_null()),
        ("interval", one_of(&["day", "week", "month", "year"])),
        ("interval_count", int()),
        ("meter", always_null()),
        ("trial_period_days", always_null()),
        ("usage_type", tag("licensed")),
    ]);
    resource("price").with(&[
        ("active", boolean()),
        ("billing_scheme", tag("per_unit")),
        ("created", int()),
        ("currency", string()),
        ("custom_unit_amount", always_null()),
        ("livemode", boolean()),
        ("lookup_key", nstring()),
        ("metadata", metadata()),
        ("nickname", nstring()),
        ("product", expandable("product")),
        ("recurring", nullable(recurring)),
        ("tax_behavior", tax_behavior()),
        ("tiers_mode", always_null()),
        ("transform_quantity", always_null()),
        ("type", one_of(&["one_time", "recurring"])),
        ("unit_amount", int()),
        ("unit_amount_decimal", string()),
    ])
}

fn customer() -> Value {
    let cash_balance = object(&[
        ("object", tag("cash_balance")),
        ("available", json!({"type": "object", "additionalProperties": {"type": "integer"}})),
        ("customer", string()),
        ("customer_account", always_null()),
        ("livemode", boolean()),
        ("settings", object(&[("reconciliation_mode", string()), ("using_merchant_default", boolean())])),
    ]);
    resource("customer").with(&[
        ("address", nullable(address())),
        ("balance", int()),
        ("cash_balance", cash_balance),
        ("created", int()),
        ("currency", always_null()),
        ("customer_account", always_null()),
        ("default_source", always_null()),
        ("delinquent", boolean()),
        ("description", nstring()),
        ("discount", always_null()),
        ("email", nstring()),
        ("invoice_prefix", always_null()),
        (
            "invoice_settings",
            object(&[
                ("custom_fields", always_null()),
                ("default_payment_method", nstring()),
                ("footer", always_null()),
                ("rendering_options", always_null()),
            ]),
        ),
        ("livemode", boolean()),
        ("metadata", metadata()),
        ("name", nstring()),
        ("phone", nstring()),
        ("preferred_locales", empty_array()),
        (
            "shipping",
            nullable(object(&[("address", address()), ("name", string()), ("phone", always_null())])),
        ),
        ("tax_exempt", tax_exempt()),
        ("test_clock", nullable(expandable("test_helpers.test_clock"))),
    ])
}

fn tax_rate() -> Value {
    let number = json!({"type": "number", "minimum": 0, "maximum": 100});
    resource("tax_rate").with(&[
        ("active", boolean()),
        ("country", nstring()),
        ("created", int()),
        ("description", nstring()),
        ("display_name", string()),
        ("effective_percentage", nullable(number.clone())),
        ("flat_amount", always_null()),
        ("inclusive", boolean()),
        ("jurisdiction", nstring()),
        ("jurisdiction_level", always_null()),
        ("livemode", boolean()),
        ("metadata", metadata()),
        ("percentage", number),
        ("rate_type", tag("percentage")),
        ("state", nstring()),
        ("tax_type", nullable(one_of(kassa_core::tax::TAX_TYPES))),
    ])
}

fn coupon() -> Value {
    resource("coupon").with_optional(
        &[
            ("amount_off", nint()),
            ("created", int()),
            ("currency", nstring()),
            ("duration", one_of(&["once", "repeating", "forever"])),
            ("duration_in_months", nint()),
            ("livemode", boolean()),
            ("max_redemptions", nint()),
            ("metadata", metadata()),
            ("name", nstring()),
            ("percent_off", nullable(json!({"type": "number"}))),
            ("redeem_by", nint()),
            ("times_redeemed", int()),
            ("valid", boolean()),
        ],
        &[("applies_to", object(&[("products", array(string()))]))],
    )
}

fn deleted_object(name: &str) -> Value {
    resource(name).with(&[("deleted", json!({"const": true}))])
}

fn promotion_code() -> Value {
    resource("promotion_code").with(&[
        ("active", boolean()),
        ("code", string()),
        ("coupon", json!({"anyOf": [reference("coupon"), reference("deleted_coupon")]})),
        ("created", int()),
        ("customer", nullable(expandable("customer"))),
        ("customer_account", always_null()),
        ("expires_at", nint()),
        ("livemode", boolean()),
        ("max_redemptions", nint()),
        ("metadata", metadata()),
        ("promotion", object(&[("coupon", string()), ("type", tag("coupon"))])),
        (
            "restrictions",
            object(&[
                ("currency_options", empty_object()),
                ("first_time_transaction", boolean()),
                ("minimum_amount", nint()),
                ("minimum_amount_currency", nstring()),
            ]),
        ),
        ("times_redeemed", int()),
    ])
}

/// An invoice's or invoice line's `tax_amounts[]` entry.
fn tax_amount() -> Value {
    object(&[
        ("amount", int()),
        ("inclusive", boolean()),
        ("tax_rate", expandable("tax_rate")),
        ("taxability_reason", taxability_reason()),
        ("taxable_amount", int()),
    ])
}

/// The newer API's tax entry of an invoice and its lines (`total_taxes[]`, `taxes[]`).
fn invoice_tax() -> Value {
    object(&[
        ("amount", int()),
        ("tax_behavior", one_of(&["exclusive", "inclusive"])),
        ("tax_rate_details", object(&[("tax_rate", string())])),
        ("taxability_reason", taxability_reason()),
        ("taxable_amount", int()),
        ("type", tag("tax_rate_details")),
    ])
}

fn tax_id() -> Value {
    resource("tax_id").with(&[
        ("country", nstring()),
        ("created", int()),
        ("customer", string()),
        ("customer_account", always_null()),
        ("livemode", boolean()),
        (
            "owner",
            object(&[("customer", string()), ("customer_account", always_null()), ("type", tag("customer"))]),
        ),
        ("type", string()),
        ("value", string()),
        (
            "verification",
            object(&[
                ("status", one_of(&["pending", "verified", "unverified", "unavailable"])),
                ("verified_address", always_null()),
                ("verified_name", always_null()),
            ]),
        ),
    ])
}

fn line_item() -> Value {
    resource("item").with_optional(
        &[
            (
                "adjustable_quantity",
                nullable(object(&[("enabled", boolean()), ("maximum", int()), ("minimum", int())])),
            ),
            ("amount_discount", int()),
            ("amount_subtotal", int()),
            ("amount_tax", int()),
            ("amount_total", int()),
            ("currency", string()),
            ("description", string()),
            ("metadata", metadata()),
            ("price", reference("price")),
            ("quantity", int()),
        ],
        // Includable: present when `expand[]` names them (`data.taxes`, `data.discounts`).
        &[
            (
                "taxes",
                array(object(&[
                    ("amount", int()),
                    ("rate", reference("tax_rate")),
                    ("taxability_reason", taxability_reason()),
                    ("taxable_amount", int()),
                ])),
            ),
            ("discounts", array(object(&[("amount", int()), ("discount", reference("discount"))]))),
        ],
    )
}

fn session() -> Value {
    let discount = object(&[
        ("coupon", expandable("coupon")),
        ("promotion_code", nullable(expandable("promotion_code"))),
    ]);
    let customer_details = object(&[
        ("address", nullable(address())),
        ("business_name", always_null()),
        ("email", nstring()),
        ("individual_name", always_null()),
        ("name", nstring()),
        ("phone", nstring()),
        ("tax_exempt", tax_exempt()),
        ("tax_ids", array(object(&[("type", string()), ("value", string())]))),
    ]);
    let message = || nullable(object(&[("message", string())]));
    let lengths = || {
        nullable(object(&[
            ("default_value", nstring()),
            ("maximum_length", nint()),
            ("minimum_length", nint()),
            ("value", nstring()),
        ]))
    };
    let custom_field = object(&[
        (
            "dropdown",
            nullable(object(&[
                ("default_value", nstring()),
                ("options", array(object(&[("label", string()), ("value", string())]))),
                ("value", nstring()),
            ])),
        ),
        ("key", string()),
        ("label", object(&[("custom", string()), ("type", tag("custom"))])),
        ("numeric", lengths()),
        ("optional", boolean()),
        ("text", lengths()),
        ("type", one_of(&["text", "numeric", "dropdown"])),
    ]);
    resource("checkout.session").with_optional(
        &[
            ("adaptive_pricing", always_null()),
            (
                "after_expiration",
                nullable(object(&[(
                    "recovery",
                    object(&[
                        ("allow_promotion_codes", boolean()),
                        ("enabled", boolean()),
                        ("expires_at", nint()),
                        ("url", nstring()),
                    ]),
                )])),
            ),
            ("allow_promotion_codes", boolean()),
            ("allowed_payment_method_types", always_null()),
            ("amount_subtotal", int()),
            ("amount_total", int()),
            (
                "automatic_tax",
                object(&[
                    ("enabled", boolean()),
                    ("liability", nullable(object(&[("type", one_of(&["self"]))]))),
                    ("provider", nullable(one_of(&["kassa"]))),
                    ("status", nullable(one_of(&["requires_location_inputs", "complete"]))),
                ]),
            ),
            ("billing_address_collection", nullable(one_of(&["auto", "required"]))),
            ("cancel_url", nstring()),
            ("client_reference_id", nstring()),
            ("client_secret", always_null()),
            ("collected_information", always_null()),
            (
                "consent",
                nullable(object(&[
                    ("promotions", nullable(one_of(&["opt_in", "opt_out"]))),
                    ("terms_of_service", nullable(tag("accepted"))),
                ])),
            ),
            (
                "consent_collection",
                nullable(object(&[
                    ("payment_method_reuse_agreement", always_null()),
                    ("promotions", nullable(one_of(&["auto", "none"]))),
                    ("terms_of_service", nullable(one_of(&["none", "required"]))),
                ])),
            ),
            ("created", int()),
            ("currency", string()),
            ("currency_conversion", always_null()),
            ("custom_fields", array(custom_field)),
            (
                "custom_text",
                object(&[
                    ("after_submit", message()),
                    ("shipping_address", message()),
                    ("submit", message()),
                    ("terms_of_service_acceptance", message()),
                ]),
            ),
            ("customer", nullable(expandable("customer"))),
            ("customer_account", always_null()),
            ("customer_creation", nullable(one_of(&["always", "if_required"]))),
            ("customer_details", nullable(customer_details)),
            ("customer_email", nstring()),
            ("discounts", array(discount)),
            ("expires_at", int()),
            ("integration_identifier", always_null()),
            ("invoice", nullable(expandable("invoice"))),
            (
                "invoice_creation",
                nullable(object(&[
                    ("enabled", boolean()),
                    (
                        "invoice_data",
                        object(&[
                            ("account_tax_ids", always_null()),
                            ("custom_fields", invoice_custom_fields()),
                            ("description", nstring()),
                            ("footer", nstring()),
                            ("issuer", always_null()),
                            ("metadata", metadata()),
                            ("rendering_options", always_null()),
                        ]),
                    ),
                ])),
            ),
            ("livemode", boolean()),
            ("locale", nstring()),
            ("managed_payments", always_null()),
            ("metadata", metadata()),
            ("mode", one_of(&["payment", "subscription", "setup"])),
            ("origin_context", always_null()),
            ("payment_intent", nullable(expandable("payment_intent"))),
            ("payment_link", always_null()),
            ("payment_method_collection", nullable(one_of(&["always", "if_required"]))),
            ("payment_method_configuration_details", always_null()),
            ("payment_method_options", empty_object()),
            ("payment_method_types", array(string())),
            ("payment_status", one_of(&["paid", "unpaid", "no_payment_required"])),
            ("permissions", always_null()),
            ("phone_number_collection", toggle()),
            ("recovered_from", nstring()),
            ("saved_payment_method_options", always_null()),
            ("setup_intent", nullable(expandable("setup_intent"))),
            ("shipping_address_collection", nullable(object(&[("allowed_countries", array(string()))]))),
            (
                "shipping_cost",
                nullable(object(&[
                    ("amount_subtotal", int()),
                    ("amount_tax", int()),
                    ("amount_total", int()),
                    ("shipping_rate", expandable("shipping_rate")),
                ])),
            ),
            ("shipping_details", nullable(object(&[("address", address()), ("name", string())]))),
            (
                "shipping_options",
                array(object(&[("shipping_amount", int()), ("shipping_rate", expandable("shipping_rate"))])),
            ),
            ("status", one_of(&["open", "complete", "expired"])),
            ("submit_type", nullable(one_of(&["auto", "pay", "book", "donate", "subscribe"]))),
            ("subscription", nullable(expandable("subscription"))),
            ("success_url", nstring()),
            (
                "tax_id_collection",
                object(&[("enabled", boolean()), ("required", one_of(&["if_supported", "never"]))]),
            ),
            (
                "total_details",
                object(&[("amount_discount", int()), ("amount_shipping", int()), ("amount_tax", int())]),
            ),
            ("ui_mode", tag("hosted")),
            ("url", nstring()),
            ("wallet_options", always_null()),
        ],
        // Includable: present when `expand[]` names it.
        &[("line_items", list(reference("item")))],
    )
}

fn payment_intent() -> Value {
    let last_payment_error = object_with_optional(
        &[("code", string()), ("message", string()), ("type", tag("card_error"))],
        &[("decline_code", string()), ("payment_method", expandable("payment_method"))],
    );
    let next_action = object(&[
        ("type", tag("redirect_to_url")),
        ("redirect_to_url", object(&[("return_url", always_null()), ("url", always_null())])),
    ]);
    resource("payment_intent").with(&[
        ("amount", int()),
        ("amount_capturable", int()),
        ("amount_details", object(&[("tip", empty_object())])),
        ("allowed_payment_method_types", always_null()),
        ("amount_received", int()),
        ("application", always_null()),
        ("application_fee_amount", always_null()),
        ("automatic_payment_methods", always_null()),
        ("canceled_at", nint()),
        ("cancellation_reason", nstring()),
        ("capture_method", one_of(&["automatic", "automatic_async", "manual"])),
        ("client_secret", always_null()),
        ("confirmation_method", tag("automatic")),
        ("created", int()),
        ("currency", string()),
        ("customer", nullable(expandable("customer"))),
        ("customer_account", always_null()),
        ("description", nstring()),
        ("excluded_payment_method_types", always_null()),
        ("invoice", nullable(expandable("invoice"))),
        ("last_payment_error", nullable(last_payment_error)),
        ("latest_charge", nullable(expandable("charge"))),
        ("livemode", boolean()),
        ("managed_payments", always_null()),
        ("metadata", metadata()),
        ("next_action", nullable(next_action)),
        ("on_behalf_of", always_null()),
        ("payment_method", nullable(expandable("payment_method"))),
        ("payment_method_configuration_details", always_null()),
        ("payment_method_options", empty_object()),
        ("payment_method_types", array(string())),
        ("payment_record", always_null()),
        ("processing", always_null()),
        ("receipt_email", nstring()),
        ("review", always_null()),
        ("setup_future_usage", nullable(one_of(&["on_session", "off_session"]))),
        ("shipping", always_null()),
        ("source", always_null()),
        ("statement_descriptor", nstring()),
        ("statement_descriptor_suffix", nstring()),
        (
            "status",
            one_of(&[
                "requires_payment_method",
                "requires_confirmation",
                "requires_action",
                "processing",
                "requires_capture",
                "canceled",
                "succeeded",
            ]),
        ),
        ("transfer_data", always_null()),
        ("transfer_group", always_null()),
    ])
}

fn payment_method() -> Value {
    let card = object(&[
        ("brand", string()),
        (
            "checks",
            object(&[
                ("address_line1_check", always_null()),
                ("address_postal_code_check", always_null()),
                ("cvc_check", string()),
            ]),
        ),
        ("country", always_null()),
        ("display_brand", string()),
        ("exp_month", int()),
        ("exp_year", int()),
        ("fingerprint", string()),
        ("funding", string()),
        ("generated_from", always_null()),
        ("last4", string()),
        ("networks", object(&[("available", array(string())), ("preferred", always_null())])),
        ("regulated_status", always_null()),
        ("three_d_secure_usage", object(&[("supported", boolean())])),
        ("wallet", always_null()),
    ]);
    resource("payment_method").with_optional(
        &[
            (
                "billing_details",
                object(&[
                    ("address", address_of(always_null)),
                    ("email", nstring()),
                    ("name", nstring()),
                    ("phone", always_null()),
                    ("tax_id", always_null()),
                ]),
            ),
            ("created", int()),
            ("customer", nullable(expandable("customer"))),
            ("customer_account", always_null()),
            ("livemode", boolean()),
            ("metadata", metadata()),
            ("type", one_of(&["card", "paypal", "customer_balance"])),
        ],
        // Only on methods of that type.
        &[
            ("card", card),
            ("paypal", object(&[("payer_email", nstring()), ("payer_id", always_null())])),
            ("customer_balance", empty_object()),
        ],
    )
}

fn setup_intent() -> Value {
    resource("setup_intent").with(&[
        ("allowed_payment_method_types", always_null()),
        ("application", always_null()),
        ("automatic_payment_methods", always_null()),
        ("cancellation_reason", always_null()),
        ("client_secret", always_null()),
        ("created", int()),
        ("customer", nullable(expandable("customer"))),
        ("customer_account", always_null()),
        ("description", nstring()),
        ("excluded_payment_method_types", always_null()),
        ("flow_directions", always_null()),
        ("last_setup_error", always_null()),
        ("latest_attempt", always_null()),
        ("livemode", boolean()),
        ("mandate", always_null()),
        ("metadata", metadata()),
        ("next_action", always_null()),
        ("on_behalf_of", always_null()),
        ("payment_method", nullable(expandable("payment_method"))),
        ("payment_method_configuration_details", always_null()),
        ("payment_method_options", empty_object()),
        ("payment_method_types", array(string())),
        ("single_use_mandate", always_null()),
        (
            "status",
            one_of(&[
                "requires_payment_method",
                "requires_confirmation",
                "requires_action",
                "processing",
                "canceled",
                "succeeded",
            ]),
        ),
        ("usage", one_of(&["off_session", "on_session"])),
    ])
}

fn discount() -> Value {
    resource("discount").with(&[
        ("checkout_session", nstring()),
        ("coupon", expandable("coupon")),
        ("customer", nstring()),
        ("end", nint()),
        ("invoice", nstring()),
        ("invoice_item", always_null()),
        ("promotion_code", nullable(expandable("promotion_code"))),
        ("start", int()),
        ("subscription", nstring()),
    ])
}

fn subscription_item() -> Value {
    resource("subscription_item").with(&[
        ("billing_thresholds", always_null()),
        ("created", int()),
        ("current_period_end", int()),
        ("current_period_start", int()),
        ("discounts", empty_array()),
        ("metadata", metadata()),
        ("plan", always_null()),
        ("price", reference("price")),
        ("quantity", int()),
        ("subscription", expandable("subscription")),
        ("tax_rates", array(reference("tax_rate"))),
    ])
}

fn invoice_item() -> Value {
    resource("invoiceitem").with(&[
        ("amount", int()),
        ("currency", string()),
        ("customer", expandable("customer")),
        ("date", int()),
        ("description", nstring()),
        ("discountable", boolean()),
        ("discounts", empty_array()),
        ("invoice", nullable(expandable("invoice"))),
        ("livemode", boolean()),
        ("metadata", metadata()),
        ("period", period()),
        ("plan", always_null()),
        ("price", reference("price")),
        ("proration", boolean()),
        ("quantity", int()),
        ("subscription", nullable(expandable("subscription"))),
        ("subscription_item", always_null()),
        ("tax_rates", empty_array()),
        ("test_clock", always_null()),
        ("unit_amount", int()),
        ("unit_amount_decimal", string()),
    ])
}

fn subscription() -> Value {
    let item = reference("subscription_item");
    resource("subscription").with(&[
        ("application", always_null()),
        ("application_fee_percent", always_null()),
        ("automatic_tax", toggle()),
        ("billing_cycle_anchor", int()),
        ("billing_thresholds", always_null()),
        ("cancel_at", nint()),
        ("cancel_at_period_end", boolean()),
        ("canceled_at", nint()),
        (
            "cancellation_details",
            object(&[
                ("comment", nstring()),
                ("feedback", nullable(one_of(kassa_core::portal::CANCELLATION_REASONS))),
                (
                    "reason",
                    nullable(one_of(&["cancellation_requested", "payment_disputed", "payment_failed"])),
                ),
            ]),
        ),
        ("collection_method", collection_method()),
        ("created", int()),
        ("currency", string()),
        ("current_period_end", int()),
        ("current_period_start", int()),
        ("customer", expandable("customer")),
        ("days_until_due", nint()),
        ("default_payment_method", nullable(expandable("payment_method"))),
        ("default_source", always_null()),
        ("default_tax_rates", array(reference("tax_rate"))),
        ("description", nstring()),
        ("discount", nullable(reference("discount"))),
        ("ended_at", nint()),
        ("items", complete_list(item)),
        ("latest_invoice", nullable(expandable("invoice"))),
        ("livemode", boolean()),
        ("metadata", metadata()),
        ("next_pending_invoice_item_invoice", always_null()),
        ("on_behalf_of", always_null()),
        ("pause_collection", nullable(object(&[("behavior", one_of(&["void"])), ("resumes_at", nint())]))),
        (
            "payment_settings",
            object(&[
                ("payment_method_options", always_null()),
                ("payment_method_types", always_null()),
                ("save_default_payment_method", tag("off")),
            ]),
        ),
        ("pending_invoice_item_interval", always_null()),
        ("pending_setup_intent", always_null()),
        ("pending_update", always_null()),
        ("schedule", always_null()),
        ("start_date", int()),
        (
            "status",
            one_of(&[
                "incomplete",
                "incomplete_expired",
                "trialing",
                "active",
                "past_due",
                "canceled",
                "unpaid",
                "paused",
            ]),
        ),
        ("test_clock", nstring()),
        ("transfer_data", always_null()),
        ("trial_end", nint()),
        ("trial_settings", object(&[("end_behavior", object(&[("missing_payment_method", string())]))])),
        ("trial_start", nint()),
    ])
}

fn invoice() -> Value {
    let discount_amount = object(&[("amount", int()), ("discount", string())]);
    let line = resource("line_item").with_optional(
        &[
            ("amount", int()),
            ("amount_excluding_tax", int()),
            ("currency", string()),
            ("description", string()),
            ("discount_amounts", array(discount_amount.clone())),
            ("discountable", boolean()),
            ("discounts", empty_array()),
            ("livemode", boolean()),
            ("metadata", metadata()),
            ("period", period()),
            ("plan", always_null()),
            ("price", reference("price")),
            ("proration", boolean()),
            ("proration_details", object(&[("credited_items", always_null())])),
            ("quantity", int()),
            ("subscription", nullable(expandable("subscription"))),
            ("subscription_item", nstring()),
            ("tax_amounts", array(tax_amount())),
            ("tax_rates", array(reference("tax_rate"))),
            ("taxes", array(invoice_tax())),
            ("type", one_of(&["subscription", "invoiceitem"])),
            ("unit_amount_excluding_tax", string()),
        ],
        &[("invoice_item", string())],
    );
    resource("invoice").with(&[
        ("account_country", always_null()),
        ("account_name", always_null()),
        ("account_tax_ids", always_null()),
        ("amount_due", int()),
        ("amount_paid", int()),
        ("amount_remaining", int()),
        ("amount_shipping", int()),
        ("application", always_null()),
        ("application_fee_amount", always_null()),
        ("attempt_count", int()),
        ("attempted", boolean()),
        ("auto_advance", boolean()),
        (
            "automatic_tax",
            object(&[
                ("enabled", boolean()),
                ("status", nullable(one_of(&["complete", "failed", "requires_location_inputs"]))),
            ]),
        ),
        ("billing_reason", string()),
        ("charge", always_null()),
        ("collection_method", collection_method()),
        ("created", int()),
        ("currency", string()),
        ("custom_fields", invoice_custom_fields()),
        ("customer", expandable("customer")),
        ("customer_address", always_null()),
        ("customer_email", always_null()),
        ("customer_name", always_null()),
        ("customer_phone", always_null()),
        ("customer_shipping", always_null()),
        ("customer_tax_exempt", tax_exempt()),
        ("customer_tax_ids", empty_array()),
        ("default_payment_method", always_null()),
        ("default_source", always_null()),
        ("default_tax_rates", empty_array()),
        ("description", nstring()),
        ("discount", nullable(reference("discount"))),
        ("discounts", array(string())),
        ("due_date", nint()),
        ("effective_at", nint()),
        ("ending_balance", nint()),
        ("footer", nstring()),
        ("from_invoice", always_null()),
        ("hosted_invoice_url", nstring()),
        ("invoice_pdf", nstring()),
        ("last_finalization_error", always_null()),
        ("latest_revision", always_null()),
        ("lines", complete_list(line)),
        ("livemode", boolean()),
        ("metadata", metadata()),
        ("next_payment_attempt", nint()),
        ("number", nstring()),
        ("on_behalf_of", always_null()),
        ("paid", boolean()),
        ("paid_out_of_band", boolean()),
        (
            "parent",
            nullable(object(&[
                ("quote_details", always_null()),
                ("subscription_details", object(&[("metadata", always_null()), ("subscription", string())])),
                ("type", one_of(&["subscription_details"])),
            ])),
        ),
        ("payment_intent", nullable(expandable("payment_intent"))),
        (
            "payment_settings",
            object(&[
                ("default_mandate", always_null()),
                ("payment_method_options", always_null()),
                ("payment_method_types", always_null()),
            ]),
        ),
        ("period_end", int()),
        ("period_start", int()),
        ("post_payment_credit_notes_amount", int()),
        ("pre_payment_credit_notes_amount", int()),
        ("quote", always_null()),
        ("receipt_number", always_null()),
        ("rendering_options", always_null()),
        ("rendering", always_null()),
        ("shipping_cost", always_null()),
        ("shipping_details", always_null()),
        ("starting_balance", int()),
        ("statement_descriptor", always_null()),
        ("status", one_of(&["draft", "open", "paid", "uncollectible", "void"])),
        (
            "status_transitions",
            object(&[
                ("finalized_at", nint()),
                ("marked_uncollectible_at", nint()),
                ("paid_at", nint()),
                ("voided_at", nint()),
            ]),
        ),
        ("subscription", nullable(expandable("subscription"))),
        ("subscription_details", object(&[("metadata", always_null())])),
        ("subtotal", int()),
        ("subtotal_excluding_tax", int()),
        ("tax", nint()),
        ("test_clock", always_null()),
        ("total", int()),
        ("total_discount_amounts", array(discount_amount)),
        ("total_excluding_tax", int()),
        ("total_tax_amounts", array(tax_amount())),
        ("total_taxes", array(invoice_tax())),
        ("transfer_data", always_null()),
        ("webhooks_delivered_at", always_null()),
    ])
}

fn charge() -> Value {
    let card = object(&[
        ("brand", string()),
        ("country", always_null()),
        ("exp_month", int()),
        ("exp_year", int()),
        ("fingerprint", string()),
        ("funding", string()),
        ("last4", string()),
        ("network", string()),
    ]);
    let details = object_with_optional(
        &[("type", one_of(&["card", "paypal", "customer_balance"]))],
        &[
            ("card", card),
            ("paypal", object(&[("payer_email", nstring())])),
            ("customer_balance", empty_object()),
        ],
    );
    let outcome = object(&[
        ("network_status", string()),
        ("reason", nstring()),
        ("risk_level", string()),
        ("seller_message", string()),
        ("type", string()),
    ]);
    resource("charge").with(&[
        ("amount", int()),
        ("amount_captured", int()),
        ("amount_refunded", int()),
        ("balance_transaction", always_null()),
        (
            "billing_details",
            object(&[
                ("address", always_null()),
                ("email", always_null()),
                ("name", always_null()),
                ("phone", always_null()),
            ]),
        ),
        ("captured", boolean()),
        ("created", int()),
        ("currency", string()),
        ("customer", nullable(expandable("customer"))),
        ("description", nstring()),
        ("disputed", boolean()),
        ("failure_code", nstring()),
        ("failure_message", nstring()),
        ("invoice", nullable(expandable("invoice"))),
        ("livemode", boolean()),
        ("metadata", metadata()),
        ("outcome", outcome),
        ("paid", boolean()),
        ("payment_intent", nullable(expandable("payment_intent"))),
        ("payment_method", nstring()),
        ("payment_method_details", nullable(details)),
        ("receipt_url", always_null()),
        ("refunded", boolean()),
        ("refunds", complete_list(reference("refund"))),
        ("status", one_of(&["succeeded", "pending", "failed"])),
    ])
}

fn refund() -> Value {
    resource("refund").with(&[
        ("amount", int()),
        ("balance_transaction", always_null()),
        ("charge", expandable("charge")),
        ("created", int()),
        ("currency", string()),
        ("destination_details", object(&[("type", one_of(&["card", "customer_cash_balance"]))])),
        ("metadata", metadata()),
        ("payment_intent", nullable(expandable("payment_intent"))),
        ("reason", nullable(one_of(&["duplicate", "fraudulent", "requested_by_customer"]))),
        ("receipt_number", always_null()),
        ("status", tag("succeeded")),
    ])
}

/// The objects an event can carry in `data.object`.
const EVENT_OBJECTS: &[&str] = &[
    "checkout.session",
    "upcoming_invoice",
    "customer",
    "tax_id",
    "product",
    "price",
    "coupon",
    "promotion_code",
    "payment_intent",
    "payment_method",
    "setup_intent",
    "subscription",
    "invoice",
    "test_helpers.test_clock",
    "customer_cash_balance_transaction",
    "charge",
    "refund",
    "billing_portal.session",
];

/// The invoice of an `invoice.upcoming` event: an invoice not saved, so without an `id`.
fn upcoming_invoice() -> Value {
    let mut schema = invoice();
    if let Some(props) = schema["properties"].as_object_mut() {
        props.remove("id");
    }
    if let Some(required) = schema["required"].as_array_mut() {
        required.retain(|r| r != "id");
    }
    schema
}

fn event() -> Value {
    let objects: Vec<Value> = EVENT_OBJECTS.iter().map(|o| reference(o)).collect();
    resource("event").with_optional(
        &[
            ("api_version", string()),
            ("created", int()),
            (
                "data",
                object_with_optional(
                    &[("object", json!({"anyOf": objects}))],
                    // The fields the change touched, with their values before it.
                    &[("previous_attributes", json!({"type": "object"}))],
                ),
            ),
            ("livemode", boolean()),
            ("pending_webhooks", int()),
            ("request", object(&[("id", nstring()), ("idempotency_key", nstring())])),
            ("type", string()),
        ],
        // Only in the answer to `POST /events/{id}/resend`: the deliveries it attempted.
        &[("webhook_deliveries", list(reference("webhook_delivery")))],
    )
}

fn webhook_endpoint() -> Value {
    resource("webhook_endpoint").with_optional(
        &[
            ("api_version", nstring()),
            ("application", always_null()),
            ("created", int()),
            ("description", nstring()),
            ("disabled_reason", nullable(one_of(&["deliveries_failed"]))),
            ("enabled_events", array(string())),
            ("livemode", boolean()),
            ("metadata", metadata()),
            ("status", one_of(&["enabled", "disabled"])),
            ("url", string()),
        ],
        // Only in the answer to the endpoint's creation.
        &[("secret", string())],
    )
}

fn webhook_delivery() -> Value {
    let attempt = object(&[
        ("created", int()),
        ("status_code", nint()),
        ("duration_ms", int()),
        ("response_body", string()),
        ("error", nstring()),
    ]);
    resource("webhook_delivery").with(&[
        ("created", int()),
        ("event", string()),
        ("event_type", string()),
        ("webhook_endpoint", string()),
        ("status", string()),
        ("next_attempt_at", nint()),
        ("attempts", array(attempt)),
    ])
}

fn test_clock() -> Value {
    resource("test_helpers.test_clock").with(&[
        ("created", int()),
        ("deletes_after", int()),
        ("frozen_time", int()),
        ("livemode", boolean()),
        ("name", nstring()),
        ("status", one_of(&["ready", "advancing", "internal_failure"])),
        ("status_details", empty_object()),
    ])
}

/// What `POST /test_helpers/customers/{id}/fund_cash_balance` answers.
fn cash_balance_transaction() -> Value {
    resource("customer_cash_balance_transaction").with(&[
        ("created", int()),
        ("currency", string()),
        ("customer", expandable("customer")),
        ("customer_account", always_null()),
        ("ending_balance", int()),
        (
            "funded",
            object(&[(
                "bank_transfer",
                object(&[("reference", nstring()), ("type", tag("us_bank_transfer"))]),
            )]),
        ),
        ("livemode", boolean()),
        ("net_amount", int()),
        ("type", tag("funded")),
    ])
}

fn shipping_rate() -> Value {
    let bound = nullable(object(&[
        ("unit", one_of(&["hour", "day", "business_day", "week", "month"])),
        ("value", int()),
    ]));
    resource("shipping_rate").with(&[
        ("active", boolean()),
        ("created", int()),
        ("delivery_estimate", nullable(object(&[("maximum", bound.clone()), ("minimum", bound)]))),
        ("display_name", string()),
        ("fixed_amount", object(&[("amount", int()), ("currency", string())])),
        ("livemode", boolean()),
        ("metadata", metadata()),
        ("tax_behavior", tax_behavior()),
        ("tax_code", nstring()),
        ("type", tag("fixed_amount")),
    ])
}

/// A postal address (a customer's, a session's collected ones).
fn address() -> Value {
    address_of(nstring)
}

/// A customer portal configuration (issue 17).
fn portal_configuration() -> Value {
    let toggle = toggle();
    resource("billing_portal.configuration").with(&[
        ("active", boolean()),
        ("application", always_null()),
        (
            "business_profile",
            object(&[
                ("headline", nstring()),
                ("privacy_policy_url", nstring()),
                ("terms_of_service_url", nstring()),
            ]),
        ),
        ("created", int()),
        ("default_return_url", nstring()),
        (
            "features",
            object(&[
                ("customer_update", object(&[("allowed_updates", array(string())), ("enabled", boolean())])),
                ("invoice_history", toggle),
                (
                    "payment_method_update",
                    object(&[("enabled", boolean()), ("payment_method_configuration", always_null())]),
                ),
                (
                    "subscription_cancel",
                    object(&[
                        (
                            "cancellation_reason",
                            object(&[("enabled", boolean()), ("options", array(string()))]),
                        ),
                        ("enabled", boolean()),
                        ("mode", one_of(&["at_period_end", "immediately"])),
                        ("proration_behavior", one_of(&["none", "create_prorations"])),
                    ]),
                ),
                (
                    "subscription_update",
                    object(&[
                        ("billing_cycle_anchor", always_null()),
                        ("default_allowed_updates", array(string())),
                        ("enabled", boolean()),
                        (
                            "products",
                            array(object(&[
                                (
                                    "adjustable_quantity",
                                    object(&[
                                        ("enabled", boolean()),
                                        ("maximum", always_null()),
                                        ("minimum", int()),
                                    ]),
                                ),
                                ("prices", array(string())),
                                ("product", string()),
                            ])),
                        ),
                        ("proration_behavior", one_of(&["create_prorations", "none", "always_invoice"])),
                        ("schedule_at_period_end", object(&[("conditions", empty_array())])),
                        ("trial_update_behavior", string()),
                    ]),
                ),
            ]),
        ),
        ("is_default", boolean()),
        ("livemode", boolean()),
        ("login_page", object(&[("enabled", boolean()), ("url", always_null())])),
        ("metadata", metadata()),
        ("name", always_null()),
        ("updated", int()),
    ])
}

/// A customer portal session (issue 17).
fn portal_session() -> Value {
    let sub = object(&[("subscription", nstring())]);
    let flow = object(&[
        ("type", one_of(kassa_core::portal::FLOW_TYPES)),
        (
            "after_completion",
            object(&[
                ("type", one_of(&["redirect", "portal_homepage", "hosted_confirmation"])),
                ("hosted_confirmation", nullable(object(&[("custom_message", nstring())]))),
                ("redirect", nullable(object(&[("return_url", string())]))),
            ]),
        ),
        (
            "subscription_cancel",
            nullable(object(&[("retention", always_null()), ("subscription", nstring())])),
        ),
        ("subscription_update", nullable(sub)),
        (
            "subscription_update_confirm",
            nullable(object(&[
                ("discounts", array(object(&[("coupon", nstring()), ("promotion_code", nstring())]))),
                ("items", array(object(&[("id", string()), ("price", nstring()), ("quantity", nint())]))),
                ("subscription", nstring()),
            ])),
        ),
    ]);
    resource("billing_portal.session").with(&[
        ("configuration", string()),
        ("created", int()),
        ("customer", string()),
        ("flow", nullable(flow)),
        ("livemode", boolean()),
        ("locale", nstring()),
        ("on_behalf_of", always_null()),
        ("return_url", nstring()),
        ("url", nstring()),
    ])
}
