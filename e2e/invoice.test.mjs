// The hosted invoice page (issue 17): a subscription's renewal whose charge failed is open; its
// `hosted_invoice_url` opens in a real browser (375 px wide), shows the number, total and status,
// and pays with the test card 4242 through the checkout page's card fields. The PDF link answers a
// PDF.

import assert from "node:assert/strict";
import { byTestId as $, eventually, useKassa } from "./harness.mjs";

const h = useKassa();

/** A monthly subscription on a test clock whose first renewal failed: its open invoice. */
async function openRenewalInvoice() {
  const start = Math.floor(Date.UTC(2027, 0, 15, 12) / 1000);
  const clock = await h.kassa.api("POST", "/test_helpers/test_clocks", { frozen_time: start, name: "invoice" });
  const customer = await h.kassa.api("POST", "/customers", { email: "invoice@example.test", test_clock: clock.id });
  const plan = await h.kassa.price({ name: "Pro plan", unit_amount: 1250, interval: "month" });
  const session = await h.kassa.createSession({
    line_items: [{ price: plan.id, quantity: 1 }],
    customer: customer.id,
    success_url: `${h.merchant.url}/success?session_id={CHECKOUT_SESSION_ID}`,
  });
  // Accepted at checkout, declined on every later charge.
  const checkout = await h.newPage();
  await checkout.goto(session.url);
  await $(checkout, "name-input").fill("Invoice Buyer");
  await $(checkout, "card-number-input").fill("4000 0000 0000 0341");
  await $(checkout, "card-expiry-input").fill("12/34");
  await $(checkout, "card-cvc-input").fill("123");
  await h.submitPayment(checkout, session);
  await h.landOnSuccess(checkout, session);
  const done = await h.kassa.getSession(session.id);

  const renewal = start + 31 * 86_400 + 60;
  await h.kassa.api("POST", `/test_helpers/test_clocks/${clock.id}/advance`, { frozen_time: renewal });
  return eventually(
    async () => {
      const c = await h.kassa.api("GET", `/test_helpers/test_clocks/${clock.id}`);
      assert.equal(c.status, "ready");
      const list = await h.kassa.api("GET", `/invoices?subscription=${done.subscription}`);
      const open = list.data.find((i) => i.status === "open");
      assert.ok(open, "the renewal's invoice is open");
      return { invoice: open, subscription: done.subscription };
    },
    { timeout: 20_000, interval: 300 },
  );
}

h.test("an open invoice's hosted page shows it and pays it with 4242", async () => {
  const { invoice, subscription } = await openRenewalInvoice();
  assert.match(invoice.number, /^[A-Z0-9]{8}-\d{4}$/);
  assert.ok(invoice.hosted_invoice_url.startsWith(h.kassa.baseUrl));

  const page = await h.newPage({ viewport: { width: 375, height: 800 } });
  await page.goto(invoice.hosted_invoice_url);
  assert.equal((await $(page, "invoice-number").innerText()).trim(), invoice.number);
  assert.equal((await $(page, "invoice-total").innerText()).trim(), "$12.50");
  assert.equal((await $(page, "invoice-status").innerText()).trim(), "open");
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(width <= 375, `no horizontal scroll at 375 px (${width})`);

  await $(page, "invoice-pay-button").click();
  await $(page, "card-number-input").fill("4242 4242 4242 4242");
  await $(page, "card-expiry-input").fill("12/34");
  await $(page, "card-cvc-input").fill("123");
  await Promise.all([page.waitForURL(invoice.hosted_invoice_url), $(page, "submit-button").click()]);
  assert.equal((await $(page, "invoice-status").innerText()).trim(), "paid");
  assert.equal(await $(page, "submit-button").count(), 0, "nothing left to pay");

  const paid = await h.kassa.api("GET", `/invoices/${invoice.id}?expand[]=payment_intent`);
  assert.equal(paid.status, "paid");
  assert.equal(paid.amount_paid, 1250);
  assert.ok(paid.payment_intent.latest_charge.startsWith("ch_"));
  const sub = await h.kassa.api("GET", `/subscriptions/${subscription}`);
  assert.equal(sub.status, "active");

  const pdf = await fetch(invoice.invoice_pdf);
  assert.equal(pdf.status, 200);
  assert.equal(pdf.headers.get("content-type"), "application/pdf");
  const bytes = Buffer.from(await pdf.arrayBuffer());
  assert.equal(bytes.subarray(0, 5).toString("latin1"), "%PDF-");
});
