//! `mode=setup` and `payment_method_collection`.
//!
//! A setup session collects a card without charging: no `line_items` (refused before anything is
//! read, in [`super::references`]), a `currency` it must be given, card only, no discount; its
//! `payment_status` is `no_payment_required` from the start. Completing it creates a succeeded
//! SetupIntent for the card, attached to the customer. `setup_intent_data[description|metadata]`
//! only in setup mode.
//!
//! `payment_method_collection` (`always` / `if_required`) only in subscription mode: with
//! `if_required`, a session with nothing due today (a trial, a full discount) completes on the
//! page without a card.

use serde::{Deserialize, Serialize};

use super::{Mode, PaymentMethodType};
use crate::catalog;
use crate::error::Invalid;
use crate::metadata::{self, Metadata};
use crate::money::Currency;
use crate::params::{SessionCreate, SetupIntentDataParam};

/// `setup_intent_data`: what the setup intent carries.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetupIntentData {
    pub description: Option<String>,
    pub metadata: Metadata,
}

/// Setup mode's own rules on the request, before the lines are looked at.
pub(super) fn shape(p: &SessionCreate) -> Result<(), Invalid> {
    if p.mode.as_deref() == Some("setup") && p.line_items.is_some() {
        return Err(Invalid::param("line_items", "`line_items` cannot be used in `setup` mode."));
    }
    Ok(())
}

/// Setup mode's currency: there is no price to take it from, so it is required — unless
/// `payment_method_types` names the methods, as on Stripe ("required in setup mode when
/// `payment_method_types` is not set"). Without one, kassa's session reads `usd` where Stripe's
/// reads null: nothing is charged in it.
pub(super) fn currency(given: Option<&str>, methods_given: bool) -> Result<Currency, Invalid> {
    match given {
        Some(code) => catalog::currency("currency", code),
        None if methods_given => catalog::currency("currency", "usd"),
        None => Err(Invalid::missing("currency")),
    }
}

/// What setup mode refuses besides line items: payment methods other than cards, discounts.
/// `discounts` given, and `allow_promotion_codes` true: what setup mode refuses.
pub(super) fn limits(
    (discounts, allow_codes): (bool, bool),
    mode: Mode,
    methods: &[PaymentMethodType],
) -> Result<(), Invalid> {
    if mode != Mode::Setup {
        return Ok(());
    }
    if let Some(i) = methods.iter().position(|m| *m != PaymentMethodType::Card) {
        return Err(Invalid::param(
            format!("payment_method_types[{i}]"),
            "In `setup` mode kassa saves cards only: `payment_method_types` may only be `card`.",
        ));
    }
    if discounts {
        return Err(Invalid::param("discounts", "`discounts` cannot be used in `setup` mode."));
    }
    if allow_codes {
        return Err(Invalid::param(
            "allow_promotion_codes",
            "`allow_promotion_codes` cannot be used in `setup` mode.",
        ));
    }
    Ok(())
}

pub(super) fn setup_intent_data(
    given: Option<SetupIntentDataParam>,
    mode: Mode,
) -> Result<Option<SetupIntentData>, Invalid> {
    let Some(d) = given else { return Ok(None) };
    if mode != Mode::Setup {
        return Err(Invalid::param(
            "setup_intent_data",
            "`setup_intent_data` can only be used in `setup` mode.",
        ));
    }
    Ok(Some(SetupIntentData {
        description: catalog::text("setup_intent_data[description]", d.description, 1000)?
            .filter(|t| !t.is_empty()),
        metadata: metadata::create(d.metadata, "setup_intent_data[metadata]")?,
    }))
}

/// `payment_method_collection`: whether `if_required` was asked for.
pub(super) fn payment_method_collection(given: Option<&str>, mode: Mode) -> Result<bool, Invalid> {
    let Some(value) = given else { return Ok(false) };
    if mode != Mode::Subscription {
        return Err(Invalid::param(
            "payment_method_collection",
            "`payment_method_collection` can only be used in `subscription` mode.",
        ));
    }
    match value {
        "always" => Ok(false),
        "if_required" => Ok(true),
        _ => Err(Invalid::param(
            "payment_method_collection",
            "`payment_method_collection` must be one of always or if_required.",
        )),
    }
}
