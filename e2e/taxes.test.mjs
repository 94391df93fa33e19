// Taxes on the hosted page (issue 16) in a real browser at 375 px: automatic tax shows
// "Calculated from your address" until the buyer chooses a country, then the tax and the new total
// (in place with JavaScript; after "Update tax" without it); the charge is the taxed total.

import assert from "node:assert/strict";
import { byTestId as $, eventually, fillCardForm, useKassa } from "./harness.mjs";

const h = useKassa();

async function expectText(page, id, text) {
  await eventually(async () => assert.equal((await $(page, id).first().textContent()).trim(), text, id));
}

/** A 24.00 EUR exclusive-tax order with automatic tax; the account taxes DE at 19 % and AT at 20 %. */
async function taxedSession() {
  for (const [country, percentage] of [["DE", 19], ["AT", 20]]) {
    await h.kassa.api("POST", "/tax_rates", { display_name: "VAT", percentage, inclusive: false, country });
  }
  const product = await h.kassa.createProduct({ name: "Linen apron" });
  const price = await h.kassa.createPrice({ product: product.id, unit_amount: 2400, currency: "eur", tax_behavior: "exclusive" });
  return h.kassa.createSession({
    line_items: [{ price: price.id, quantity: 1 }],
    automatic_tax: { enabled: true },
    success_url: h.merchant.successUrl,
    cancel_url: h.merchant.cancelUrl,
  });
}

async function fillAddress(page, country) {
  await $(page, "address-line1-input").fill("Hauptstraße 5");
  await $(page, "address-postal-code-input").fill("1010");
  await $(page, "address-city-input").fill("Wien");
  await $(page, "address-country-input").selectOption(country);
}

async function phonePage(options = {}) {
  const page = await h.newPage(options);
  await page.setViewportSize({ width: 375, height: 800 });
  return page;
}

h.test("choosing a country shows its tax and the new total in place; the charge is the taxed total", async () => {
  const session = await taxedSession();
  assert.equal(session.automatic_tax.status, "requires_location_inputs");
  const page = await phonePage();
  await page.goto(session.url);
  await expectText(page, "tax-amount", "Calculated from your address");
  await expectText(page, "total-amount", "€24.00");
  assert.equal(await $(page, "tax-update").isHidden(), true, "the script applies the address by itself");
  await Promise.all([
    page.waitForResponse((r) => r.url().endsWith(`/pay/${session.id}/address`)),
    fillAddress(page, "AT"),
  ]);
  await expectText(page, "tax-amount", "€4.80");
  await expectText(page, "total-amount", "€28.80");
  await $(page, "address-country-input").selectOption("DE");
  await expectText(page, "tax-amount", "€4.56");
  await expectText(page, "total-amount", "€28.56");
  assert.match(await $(page, "submit-button").textContent(), /€28\.56/);
  const box = await $(page, "tax-amount").boundingBox();
  assert.ok(box && box.x + box.width <= 375, "the tax row fits the screen");

  await fillCardForm(page);
  await h.submitPayment(page, session);
  await h.landOnSuccess(page, session);
  const s = await h.kassa.getSession(session.id);
  assert.equal(s.automatic_tax.status, "complete");
  assert.deepEqual([s.total_details.amount_tax, s.amount_total], [456, 2856]);
  const pi = await h.kassa.api("GET", `/payment_intents/${s.payment_intent}`);
  assert.equal(pi.amount, 2856, "the charge is the taxed total");
});

h.test("without JavaScript: Update tax re-renders the tax and the total, then paying completes", async () => {
  const session = await taxedSession();
  const page = await phonePage({ javaScriptEnabled: false });
  await page.goto(session.url);
  await expectText(page, "tax-amount", "Calculated from your address");
  await fillAddress(page, "AT");
  await h.formPost(page, `/pay/${session.id}/address`, () => $(page, "tax-update").click());
  await expectText(page, "tax-amount", "€4.80");
  await expectText(page, "total-amount", "€28.80");
  assert.equal(await $(page, "address-city-input").inputValue(), "Wien", "the form comes back as typed");
  await fillCardForm(page);
  await h.submitPayment(page, session);
  await h.landOnSuccess(page, session);
  const s = await h.kassa.getSession(session.id);
  assert.deepEqual([s.total_details.amount_tax, s.amount_total, s.status], [480, 2880, "complete"]);
});
