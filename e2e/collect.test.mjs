// What the hosted page collects (issue 15) in a real browser at 375 px: addresses, shipping
// options with live totals, phone, tax id, consent, custom fields and texts; refusals naming the
// field; everything without JavaScript too; the page's language and the two-column layout.

import assert from "node:assert/strict";
import { byTestId as $, eventually, fillCardForm, useKassa } from "./harness.mjs";

const h = useKassa();

async function expectText(page, id, text) {
  await eventually(async () => assert.equal((await $(page, id).first().textContent()).trim(), text, id));
}

/** A 24.00 EUR order that collects everything, with two shipping options (5.00 and 15.00 EUR). */
async function collecting(extra = {}) {
  const price = await h.kassa.price({ name: "Linen apron", unit_amount: 2400, currency: "eur" });
  const rate = (display_name, amount, estimate) =>
    h.kassa.api("POST", "/shipping_rates", {
      display_name,
      type: "fixed_amount",
      fixed_amount: { amount, currency: "eur" },
      ...(estimate ? { delivery_estimate: estimate } : {}),
    });
  const standard = await rate("Standard", 500, {
    minimum: { unit: "business_day", value: 3 },
    maximum: { unit: "business_day", value: 5 },
  });
  const express = await rate("Express", 1500);
  const session = await h.kassa.createSession({
    line_items: [{ price: price.id, quantity: 1 }],
    success_url: h.merchant.successUrl,
    cancel_url: h.merchant.cancelUrl,
    billing_address_collection: "required",
    shipping_address_collection: { allowed_countries: ["DE", "AT", "NL"] },
    shipping_options: [{ shipping_rate: standard.id }, { shipping_rate: express.id }],
    phone_number_collection: { enabled: true },
    tax_id_collection: { enabled: true },
    consent_collection: { terms_of_service: "required", promotions: "auto" },
    custom_fields: [
      { key: "giftnote", label: { type: "custom", custom: "Gift note" }, type: "text", optional: true },
      {
        key: "colour",
        label: { type: "custom", custom: "Colour" },
        type: "dropdown",
        dropdown: { options: [{ label: "Sand", value: "sand" }, { label: "Olive", value: "olive" }] },
      },
    ],
    custom_text: {
      submit: { message: "We ship within two days." },
      terms_of_service_acceptance: { message: "I accept the shop's terms." },
      shipping_address: { message: "No P.O. boxes, please." },
      after_submit: { message: "Thank you for shopping small." },
    },
    ...extra,
  });
  return { session, standard, express };
}

/** Fill every collected field but those in `skip`. */
async function fillCollected(page, skip = []) {
  const fill = async (id, value) => {
    if (!skip.includes(id)) {
      await $(page, id).fill(value);
    }
  };
  await fill("phone-input", "+49 30 1234567");
  await fill("shipping-name-input", "Ada Lovelace");
  await fill("shipping-line1-input", "Unter den Linden 1");
  await fill("shipping-postal-code-input", "10117");
  await fill("shipping-city-input", "Berlin");
  await $(page, "shipping-country-input").selectOption("DE");
  // A billing address of its own: the "same as shipping" box, checked by default, comes off.
  await $(page, "billing-same-as-shipping").uncheck();
  await fill("address-line1-input", "Hauptstraße 5");
  await fill("address-postal-code-input", "1010");
  await fill("address-city-input", "Wien");
  if (!skip.includes("address-country-input")) {
    await $(page, "address-country-input").selectOption("AT");
  }
  await $(page, "tax-id-type-input").selectOption("eu_vat");
  await fill("tax-id-value-input", "ATU12345678");
  if (!skip.includes("custom-field-colour")) {
    await $(page, "custom-field-colour").selectOption("olive");
  }
  if (!skip.includes("terms-checkbox")) {
    await $(page, "terms-checkbox").check();
  }
  await $(page, "promotions-checkbox").check();
}

async function phonePage(options = {}) {
  const page = await h.newPage(options);
  await page.setViewportSize({ width: 375, height: 800 });
  return page;
}

h.test("at 375 px every collection control is laid out inside the screen", async () => {
  const { session, standard, express } = await collecting();
  const page = await phonePage();
  await page.goto(session.url);
  const same = $(page, "billing-same-as-shipping");
  assert.ok(await same.isChecked(), "billing is the shipping address by default");
  assert.ok(await $(page, "address-line1-input").isHidden(), "so its fields are hidden");
  await same.uncheck();
  const ids = [
    "billing-same-as-shipping", "address-line1-input", "address-line2-input", "address-city-input", "address-postal-code-input",
    "address-state-input", "address-country-input", "shipping-name-input", "shipping-line1-input",
    "shipping-line2-input", "shipping-city-input", "shipping-postal-code-input", "shipping-state-input",
    "shipping-country-input", "shipping-option", "shipping-amount", "phone-input", "tax-id-type-input",
    "tax-id-value-input", "terms-checkbox", "promotions-checkbox", "custom-field-giftnote",
    "custom-field-colour", "custom-text-submit", "custom-text-terms", "custom-text-shipping",
    "custom-text-after-submit", "test-mode-badge",
  ];
  for (const id of ids) {
    const box = await $(page, id).first().boundingBox();
    assert.ok(box, `${id} is laid out`);
    assert.ok(box.x >= 0 && box.x + box.width <= 375, `${id} spans ${box.x}–${box.x + box.width}px`);
  }
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(width <= 375, `document is ${width}px wide`);
  const options = $(page, "shipping-option");
  assert.equal(await options.count(), 2);
  assert.equal(await options.nth(0).getAttribute("data-shipping-rate"), standard.id);
  assert.equal(await options.nth(1).getAttribute("data-shipping-rate"), express.id);
  assert.ok(await options.nth(0).isChecked(), "the first option is preselected");
  assert.deepEqual(
    await $(page, "shipping-country-input").locator("option").allTextContents(),
    ["DE", "AT", "NL"],
  );
  await expectText(page, "shipping-amount", "€5.00");
  await expectText(page, "total-amount", "€29.00");
  await expectText(page, "custom-text-shipping", "No P.O. boxes, please.");
  await page.screenshot({ path: "artifacts/collect-375.png", fullPage: true });
});

h.test("choosing a shipping option updates the totals in place, and the charge includes it", async () => {
  const { session, express } = await collecting();
  const page = await phonePage();
  await page.goto(session.url);
  await Promise.all([
    page.waitForResponse((r) => r.url().endsWith(`/pay/${session.id}/shipping`)),
    page.locator(`[data-shipping-rate="${express.id}"]`).check(),
  ]);
  await expectText(page, "shipping-amount", "€15.00");
  await expectText(page, "total-amount", "€39.00");
  assert.match(await $(page, "submit-button").textContent(), /€39\.00/);
  assert.equal((await h.kassa.getSession(session.id)).amount_total, 3900);

  await fillCardForm(page);
  await fillCollected(page);
  await h.submitPayment(page, session);
  await h.landOnSuccess(page, session);
  const s = await h.kassa.getSession(session.id);
  assert.equal(s.status, "complete");
  assert.equal(s.total_details.amount_shipping, 1500);
  assert.equal(s.shipping_cost.shipping_rate, express.id);
  assert.equal(s.shipping_details.address.city, "Berlin");
  assert.equal(s.customer_details.address.country, "AT");
  assert.equal(s.customer_details.phone, "+49 30 1234567");
  assert.deepEqual(s.customer_details.tax_ids, [{ type: "eu_vat", value: "ATU12345678" }]);
  assert.equal(s.custom_fields[1].dropdown.value, "olive");
  assert.equal(s.custom_fields[0].text.value, null, "the optional field left empty");
  assert.deepEqual(s.consent, { promotions: "opt_in", terms_of_service: "accepted" });
});

h.test("a missing or malformed value is refused in payment-error naming the field; nothing is charged", async () => {
  const { session } = await collecting();
  const page = await phonePage();
  await page.goto(session.url);
  await fillCardForm(page);
  await fillCollected(page, ["shipping-city-input"]);
  await h.submitPayment(page, session);
  await expectText(page, "payment-error", "Enter City (Shipping address).");
  assert.equal(await $(page, "shipping-line1-input").inputValue(), "Unter den Linden 1", "what was typed stays");
  assert.equal(await $(page, "card-number-input").inputValue(), "", "the card is never sent back");

  await $(page, "shipping-city-input").fill("Berlin");
  await $(page, "tax-id-value-input").fill("ATU12");
  await fillCardForm(page);
  await h.submitPayment(page, session);
  await expectText(page, "payment-error", "Tax ID is not valid.");

  await $(page, "tax-id-value-input").fill("ATU12345678");
  await $(page, "terms-checkbox").uncheck();
  await fillCardForm(page);
  await h.submitPayment(page, session);
  await expectText(page, "payment-error", "Accept the terms of service to continue.");
  const s = await h.kassa.getSession(session.id);
  assert.equal(s.status, "open");
  assert.equal(s.payment_intent, null, "nothing charged");
});

h.test("without JavaScript: Update shipping re-renders the totals, then paying completes", async () => {
  const { session, express } = await collecting();
  const page = await phonePage({ javaScriptEnabled: false });
  await page.goto(session.url);
  await fillCollected(page);
  await page.locator(`[data-shipping-rate="${express.id}"]`).check();
  await h.formPost(page, `/pay/${session.id}/shipping`, () => $(page, "shipping-update").click());
  await expectText(page, "shipping-amount", "€15.00");
  await expectText(page, "total-amount", "€39.00");
  assert.equal(await $(page, "shipping-city-input").inputValue(), "Berlin", "the form comes back as typed");
  assert.ok(await $(page, "terms-checkbox").isChecked());
  await fillCardForm(page);
  await h.submitPayment(page, session);
  await h.landOnSuccess(page, session);
  assert.equal((await h.kassa.getSession(session.id)).amount_total, 3900);
});

h.test("the page speaks the browser's language with locale=auto, and German writes 29,00 €", async () => {
  const { session } = await collecting({ locale: "auto" });
  const page = await phonePage({ locale: "de-DE", extraHTTPHeaders: { "Accept-Language": "de-DE,de;q=0.9" } });
  await page.goto(session.url);
  assert.equal(await page.locator("html").getAttribute("lang"), "de");
  await expectText(page, "total-amount", "29,00\u00a0€");
  assert.match(await $(page, "submit-button").textContent(), /29,00\u00a0€ zahlen/);
  await expectText(page, "test-mode-badge", "Testmodus");
});

h.test("on a wide screen the order summary stands beside the payment form", async () => {
  const { session } = await collecting();
  const page = await h.newPage();
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.goto(session.url);
  const summary = await page.locator("section.summary").boundingBox();
  const form = await page.locator("form.pay").boundingBox();
  assert.ok(summary.x + summary.width <= form.x, `summary ${summary.x}+${summary.width}, form at ${form.x}`);
  assert.ok(Math.abs(summary.y - form.y) < 40, "side by side, not stacked");
});
