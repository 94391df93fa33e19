// Checkout parity (issue 15) through Stripe's own Node SDK: inline prices (`price_data`) paid in
// the browser, `mode=setup` saving a card and read back with its setup intent, manual capture
// with `paymentIntents.capture`, and the new objects checked against stripe-node's declarations.
// The Python twin is sdk/python/test_parity.py.

import assert from "node:assert/strict";
import Stripe from "stripe";
import { byTestId as $, CARDS, eventually, fillBuyer, fillCardForm, id, stripeClient, useKassa } from "./harness.mjs";
import { missingFields } from "./sdk-types.mjs";

const h = useKassa();

let client;
const stripe = () => (client ??= stripeClient(h.kassa.baseUrl, h.kassa.key));

/** Pay `session` on its hosted page in the browser with 4242…, landing on the success URL. */
async function payInBrowser(session, email) {
  await h.landOnSuccess(await h.payByCard(session, { email }), session);
}

h.test("price_data: an inline price and product, paid in the browser", async () => {
  const name = id("Scarf");
  const s = await stripe().checkout.sessions.create({
    line_items: [
      {
        price_data: { currency: "eur", unit_amount: 2900, product_data: { name, images: ["https://shop.example/s.png"] } },
        quantity: 1,
        metadata: { colour: "red" },
      },
    ],
    success_url: h.merchant.successUrl,
    expand: ["line_items.data.price.product"],
  });
  assert.equal(s.amount_total, 2900);
  const item = s.line_items.data[0];
  assert.deepEqual([item.description, item.metadata.colour, item.price.active], [name, "red", false]);
  assert.deepEqual(item.price.product.images, ["https://shop.example/s.png"]);
  await payInBrowser(s, "scarf@example.com");
  const done = await stripe().checkout.sessions.retrieve(s.id);
  assert.deepEqual([done.status, done.payment_status], ["complete", "paid"]);

  const err = await stripe()
    .checkout.sessions.create({
      line_items: [{ price_data: { currency: "eur", unit_amount: 1 }, quantity: 1 }],
      success_url: h.merchant.successUrl,
    })
    .then(
      () => assert.fail("expected a refusal"),
      (e) => e,
    );
  assert.ok(err instanceof Stripe.errors.StripeInvalidRequestError);
  assert.deepEqual([err.param, err.code], ["line_items[0][price_data][product_data]", "parameter_missing"]);
});

h.test("mode=setup: a card saved in the browser, the setup intent read back and listed", async () => {
  const s = await stripe().checkout.sessions.create({
    mode: "setup",
    currency: "usd",
    setup_intent_data: { metadata: { why: "later" } },
    success_url: h.merchant.successUrl,
  });
  assert.deepEqual([s.mode, s.amount_total, s.payment_status], ["setup", 0, "no_payment_required"]);
  await payInBrowser(s, "setup@example.com");
  const done = await stripe().checkout.sessions.retrieve(s.id, { expand: ["setup_intent"] });
  const si = done.setup_intent;
  assert.deepEqual([si.object, si.status, si.customer, si.metadata.why], ["setup_intent", "succeeded", done.customer, "later"]);
  const listed = await stripe().setupIntents.list({ customer: done.customer });
  assert.deepEqual(
    listed.data.map((x) => x.id),
    [si.id],
  );
  const pm = await stripe().paymentMethods.retrieve(si.payment_method);
  assert.deepEqual([pm.customer, pm.card.last4], [done.customer, "4242"]);
  const missing = missingFields(await stripe().setupIntents.retrieve(si.id), "SetupIntents", "SetupIntent");
  assert.deepEqual(missing, [], "fields a typed client would find undefined");
});

h.test("payment_intent_data[capture_method]=manual: held, then captured with the SDK", async () => {
  const s = await stripe().checkout.sessions.create({
    line_items: [{ price_data: { currency: "usd", unit_amount: 6000, product_data: { name: id("Kayak") } }, quantity: 1 }],
    payment_intent_data: { capture_method: "manual", receipt_email: "receipts@example.com" },
    success_url: h.merchant.successUrl,
  });
  await payInBrowser(s, "kayak@example.com");
  const done = await stripe().checkout.sessions.retrieve(s.id, { expand: ["payment_intent"] });
  assert.deepEqual([done.status, done.payment_status], ["complete", "unpaid"]);
  const pi = done.payment_intent;
  assert.deepEqual([pi.status, pi.amount_capturable, pi.receipt_email], ["requires_capture", 6000, "receipts@example.com"]);
  const captured = await stripe().paymentIntents.capture(pi.id, { amount_to_capture: 5000 });
  assert.deepEqual([captured.status, captured.amount_received], ["succeeded", 5000]);
});

h.test("payment_method_collection=if_required: a trial started in the browser without a card", async () => {
  const s = await stripe().checkout.sessions.create({
    mode: "subscription",
    line_items: [
      {
        price_data: { currency: "usd", unit_amount: 1500, recurring: { interval: "month" }, product_data: { name: id("Plan") } },
        quantity: 1,
      },
    ],
    subscription_data: { trial_period_days: 7 },
    payment_method_collection: "if_required",
    success_url: h.merchant.successUrl,
  });
  const page = await h.newPage();
  await page.goto(s.url);
  assert.equal(await $(page, "submit-button").textContent(), "Start trial");
  await fillBuyer(page, { email: "trial@example.com" });
  await h.submitPayment(page, s);
  await h.landOnSuccess(page, s);
  const done = await stripe().checkout.sessions.retrieve(s.id, { expand: ["subscription"] });
  assert.deepEqual([done.status, done.subscription.status, done.subscription.default_payment_method], ["complete", "trialing", null]);
});

h.test("locale=fr: rule messages, the network error and tax id labels in French; billing same as shipping", async () => {
  const rate = (display_name, amount) =>
    h.kassa.api("POST", "/shipping_rates", { display_name, type: "fixed_amount", fixed_amount: { amount, currency: "eur" } });
  const standard = await rate("Standard", 500);
  const express = await rate("Express", 1500);
  const price = await h.kassa.price({ name: "Tablier", unit_amount: 2400, currency: "eur" });
  const s = await h.kassa.createSession({
    line_items: [{ price: price.id, quantity: 1 }],
    locale: "fr",
    billing_address_collection: "required",
    shipping_address_collection: { allowed_countries: ["FR", "DE"] },
    shipping_options: [{ shipping_rate: standard.id }, { shipping_rate: express.id }],
    tax_id_collection: { enabled: true, required: "never" },
    success_url: h.merchant.successUrl,
  });
  const page = await h.newPage();
  await page.setViewportSize({ width: 375, height: 800 });
  await page.goto(s.url);
  assert.equal(await page.getAttribute("html", "lang"), "fr");
  assert.deepEqual(
    await $(page, "tax-id-type-input").locator("option").allTextContents(),
    ["EU VAT", "UK VAT", "US EIN", "AU ABN", "CA BN", "IN GST"],
  );
  assert.equal(await $(page, "tax-id-type-input").locator("option").first().getAttribute("value"), "eu_vat");
  const same = $(page, "billing-same-as-shipping");
  assert.ok(await same.isChecked(), "checked by default when both addresses are collected");
  assert.ok(await $(page, "address-line1-input").isHidden(), "the billing fields hide behind it");

  // The server cannot be reached while choosing another shipping option: said in French.
  await page.route(`**/pay/${s.id}/shipping`, (route) => route.abort());
  await $(page, "shipping-option").nth(1).check();
  await eventually(async () =>
    assert.match(await $(page, "payment-error").textContent(), /Impossible de joindre le serveur/),
  );
  await page.unroute(`**/pay/${s.id}/shipping`);

  await $(page, "shipping-name-input").fill("Ada Lovelace");
  await $(page, "shipping-line1-input").fill("1 rue de Rivoli");
  await $(page, "shipping-postal-code-input").fill("75001");
  await $(page, "shipping-city-input").fill("Paris");
  await $(page, "shipping-country-input").selectOption("FR");
  // The option the script could not send reaches the server with the payment: a rule's message,
  // in French, and nothing charged.
  await fillCardForm(page, { number: CARDS.declined });
  await h.submitPayment(page, s);
  await eventually(async () =>
    assert.equal(
      (await $(page, "payment-error").textContent()).trim(),
      "L’option de livraison a changé : vérifiez le nouveau total, puis payez.",
    ),
  );
  // A declined card: the network's answer in French.
  await fillCardForm(page, { number: CARDS.declined });
  await h.submitPayment(page, s);
  await eventually(async () => assert.equal((await $(page, "payment-error").textContent()).trim(), "Votre carte a été refusée."));
  assert.ok(await $(page, "billing-same-as-shipping").isChecked(), "still checked after the refusal");
  await fillCardForm(page);
  await h.submitPayment(page, s);
  await h.landOnSuccess(page, s);
  const done = await h.kassa.getSession(s.id);
  assert.equal(done.status, "complete");
  assert.deepEqual(
    [done.customer_details.address.line1, done.customer_details.address.city, done.customer_details.address.country],
    ["1 rue de Rivoli", "Paris", "FR"],
    "the billing address is the shipping address",
  );
});
