// Paying on the hosted page (SPEC §6–§8) in a real browser, with the built-in test network's
// cards and the PayPal stand-in: success lands on the merchant's success_url with the session id
// filled in, declines are shown inline and can be retried, 3-D Secure and PayPal go through
// kassa's own pages.

import assert from "node:assert/strict";
import { byTestId as $, CARDS, fillBuyer, fillCardForm, useKassa } from "./harness.mjs";

const h = useKassa();

/** A 25.00 USD order (one line), with the merchant stand-in's success and cancel URLs. */
async function order(extra = {}) {
  const price = await h.kassa.price({ name: "Espresso beans 1 kg", unit_amount: 2500 });
  const session = await h.kassa.createSession({
    line_items: [{ price: price.id, quantity: 1 }],
    success_url: h.merchant.successUrl,
    cancel_url: h.merchant.cancelUrl,
    mode: "payment",
    ...extra,
  });
  assert.equal(session.status, "open");
  return session;
}

/** The browser is on the merchant's success page for `session`, and the session is complete. */
async function landedOnSuccess(page, session) {
  await h.landOnSuccess(page, session);
  assert.ok(!page.url().includes("CHECKOUT_SESSION_ID"));
  assert.ok(await $(page, "merchant-success").isVisible());
  assert.ok(
    h.merchant.hits.some((hit) => hit.path === "/success" && hit.query.session_id === session.id),
    "the merchant's server saw the success URL",
  );
  const done = await h.kassa.getSession(session.id);
  assert.equal(done.status, "complete");
  assert.equal(done.payment_status, "paid");
  assert.equal(done.url, null, "a complete session has no url");
  return done;
}

/** `session`'s hosted page with the buyer filled in and `payment-method-paypal` chosen. */
async function withPayPal(session) {
  const page = await h.newPage();
  await page.goto(session.url);
  await fillBuyer(page);
  await $(page, "payment-method-paypal").check();
  return page;
}

/** The payment error shown inline, once it is there. */
async function paymentError(page) {
  const el = $(page, "payment-error");
  await page.waitForFunction(
    () => document.querySelector('[data-testid="payment-error"]')?.textContent.trim().length > 0,
    null,
    { timeout: 15_000 },
  );
  assert.ok(await el.isVisible(), "payment-error is visible");
  return (await el.textContent()).trim();
}

h.test("4242 4242 4242 4242 pays and lands on success_url with the session id", async () => {
  const session = await order();
  const page = await h.payByCard(session, { number: CARDS.ok });
  const done = await landedOnSuccess(page, session);
  assert.equal(done.amount_total, 2500);
  assert.ok(done.payment_intent, "payment mode creates a payment intent");

  // The hosted page now says so, with no payment form.
  await page.goto(session.url);
  assert.ok(await $(page, "session-complete").isVisible());
  assert.equal(await $(page, "submit-button").count(), 0);
});

h.test("a declined card shows payment-error, the session stays open, and 4242 then succeeds", async () => {
  const session = await order();
  const page = await h.payByCard(session, { number: CARDS.declined });

  const reason = await paymentError(page);
  assert.match(reason, /declin/i, `the reason: ${reason}`);
  assert.ok(page.url().startsWith(h.kassa.baseUrl), "still on kassa's page");
  assert.ok(await $(page, "submit-button").isVisible(), "the form is there to retry");
  const open = await h.kassa.getSession(session.id);
  assert.equal(open.status, "open");
  assert.equal(open.payment_status, "unpaid");
  assert.ok(!h.merchant.hits.some((hit) => hit.query.session_id === session.id), "no redirect to the merchant");

  // The card number is never echoed back into the form.
  assert.ok(!(await $(page, "card-number-input").inputValue()).includes("0002"), "card number not kept");

  await fillCardForm(page, { number: CARDS.ok });
  await h.submitPayment(page, session);
  await landedOnSuccess(page, session);
});

h.test("3-D Secure: 4000 0027 6000 3184 asks for the challenge; three-ds-complete pays", async () => {
  const session = await order();
  const page = await h.payByCard(session, { number: CARDS.threeDSecure });

  await $(page, "three-ds-complete").waitFor();
  assert.ok(page.url().startsWith(`${h.kassa.baseUrl}/`), "the challenge is kassa's own page");
  assert.ok(await $(page, "three-ds-fail").isVisible());
  assert.equal((await h.kassa.getSession(session.id)).status, "open", "nothing is complete before the challenge");

  await h.formPost(page, "/3ds", () => $(page, "three-ds-complete").click());
  await landedOnSuccess(page, session);
});

h.test("3-D Secure: three-ds-fail returns to the page with the reason; the session stays open", async () => {
  const session = await order();
  const page = await h.payByCard(session, { number: CARDS.threeDSecure });
  await h.formPost(page, "/3ds", () => $(page, "three-ds-fail").click());

  const reason = await paymentError(page);
  assert.ok(reason.length > 0);
  assert.equal((await h.kassa.getSession(session.id)).status, "open");
  assert.ok(await $(page, "submit-button").isVisible(), "the customer may try again");
});

h.test("PayPal: choose payment-method-paypal, approve on the stand-in, land on success_url", async () => {
  const session = await order({ payment_method_types: ["card", "paypal"] });
  const page = await withPayPal(session);
  await page.waitForFunction(() => document.querySelector('[data-method="card"]')?.hidden !== false, null, {
    timeout: 5_000,
  });
  assert.equal(await $(page, "card-number-input").isVisible(), false, "card fields hide when PayPal is chosen");
  await h.submitPayment(page, session);

  await $(page, "paypal-approve").waitFor();
  assert.ok(page.url().startsWith(`${h.kassa.baseUrl}/`), "the PayPal stand-in is kassa's own page");
  assert.ok(await $(page, "paypal-cancel").isVisible());
  assert.equal((await h.kassa.getSession(session.id)).status, "open");

  await h.formPost(page, "/paypal", () => $(page, "paypal-approve").click());
  await landedOnSuccess(page, session);
});

h.test("PayPal: paypal-cancel comes back to the page and the session stays open", async () => {
  const session = await order({ payment_method_types: ["card", "paypal"] });
  const page = await withPayPal(session);
  await h.submitPayment(page, session);
  await h.formPost(page, "/paypal", () => $(page, "paypal-cancel").click());

  await $(page, "submit-button").waitFor();
  assert.ok(page.url().startsWith(`${h.kassa.baseUrl}/pay/${session.id}`), "back on the hosted page");
  assert.equal((await h.kassa.getSession(session.id)).status, "open");
});
