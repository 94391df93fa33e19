// The customer portal (issue 17), as Stripe's `checkout-single-subscription` sample uses it: the
// customer subscribes on the checkout page, the merchant's server creates a portal session with
// the official Node SDK (`stripe.billingPortal.sessions.create`) and sends the browser to its
// `url`; in the portal the customer switches plan (the proration is shown, then invoiced), updates
// the card (a declined card is refused first), cancels at the period's end, renews, and cancels.
// Everything the portal did is read back through the SDK.

import assert from "node:assert/strict";
import { byTestId as $, CARDS, fillCardForm, id, minorUnits, stripeClient, useKassa } from "./harness.mjs";

const h = useKassa();

let client;
const stripe = () => (client ??= stripeClient(h.kassa.baseUrl, h.kassa.key));

async function monthly(unit_amount, name) {
  const product = await stripe().products.create({ name: id(name) });
  return stripe().prices.create({ product: product.id, unit_amount, currency: "usd", recurring: { interval: "month" } });
}

h.test("checkout, then the customer portal: switch plan, update the card, cancel, renew, cancel", async () => {
  const [basic, pro] = [await monthly(1000, "Basic"), await monthly(2500, "Pro")];
  const configuration = await stripe().billingPortal.configurations.create({
    business_profile: { headline: "Acme plans" },
    features: {
      customer_update: { enabled: true, allowed_updates: ["email"] },
      invoice_history: { enabled: true },
      payment_method_update: { enabled: true },
      subscription_cancel: {
        enabled: true,
        mode: "at_period_end",
        cancellation_reason: { enabled: true, options: ["too_expensive", "other"] },
      },
      subscription_update: {
        enabled: true,
        default_allowed_updates: ["price", "quantity"],
        proration_behavior: "always_invoice",
        products: [
          { product: basic.product, prices: [basic.id] },
          { product: pro.product, prices: [pro.id] },
        ],
      },
    },
  });
  assert.equal(configuration.object, "billing_portal.configuration");
  assert.equal(configuration.is_default, false);
  assert.deepEqual(configuration.login_page, { enabled: false, url: null });

  // Subscribe on the checkout page.
  const checkout = await stripe().checkout.sessions.create({
    mode: "subscription",
    line_items: [{ price: basic.id, quantity: 1 }],
    success_url: `${h.merchant.url}/success?session_id={CHECKOUT_SESSION_ID}`,
  });
  const page = await h.payByCard(checkout);
  await h.landOnSuccess(page, checkout);
  const done = await stripe().checkout.sessions.retrieve(checkout.id);
  const subId = done.subscription;

  // The merchant's server: a portal session for the customer, then a redirect to its URL.
  const portal = await stripe().billingPortal.sessions.create({
    customer: done.customer,
    configuration: configuration.id,
    return_url: `${h.merchant.url}/account`,
  });
  assert.equal(portal.object, "billing_portal.session");
  assert.match(portal.id, /^bps_/);
  assert.ok(portal.url.startsWith(`${h.kassa.baseUrl}/portal/${portal.id}/`), portal.url);
  await page.goto(portal.url);
  await page.waitForURL((u) => u.pathname === `/portal/${portal.id}`);
  const sub = page.locator(`[data-testid="portal-subscription"][data-subscription="${subId}"]`);
  await sub.waitFor();
  assert.equal(await $(sub, "portal-plan-name").innerText(), basic.product ? (await stripe().products.retrieve(basic.product)).name : "");
  assert.equal(await $(sub, "portal-status").innerText(), "active");
  assert.match(await $(sub, "portal-next-invoice").innerText(), /\$10\.00/);
  assert.match(await $(page, "portal-payment-method").innerText(), /Visa •••• 4242/);
  assert.equal(await $(page, "portal-return-link").getAttribute("href"), `${h.merchant.url}/account`);
  const firstInvoice = (await stripe().subscriptions.retrieve(subId)).latest_invoice;
  await page.locator(`[data-testid="portal-invoice"][data-invoice="${firstInvoice}"]`).waitFor();

  // Switch to Pro: the preview shows the proration, confirming invoices it at once.
  await $(sub, "portal-update-plan").click();
  await page.locator(`[data-testid="portal-plan-option"][data-price="${pro.id}"]`).click();
  const shown = minorUnits(await $(page, "portal-proration-amount").innerText());
  assert.ok(shown > 0 && shown <= 1500, `about $15.00 for the rest of the month: ${shown}`);
  await h.formPost(page, `/portal/${portal.id}/update`, () => $(page, "portal-plan-confirm").click());
  const switched = await stripe().subscriptions.retrieve(subId, { expand: ["latest_invoice"] });
  assert.equal(switched.items.data[0].price.id, pro.id);
  assert.equal(switched.latest_invoice.billing_reason, "subscription_update");
  assert.equal(switched.latest_invoice.amount_due, shown, "invoiced what the preview showed");
  assert.equal(switched.latest_invoice.status, "paid");
  await page.locator(`[data-testid="portal-invoice"][data-invoice="${switched.latest_invoice.id}"]`).waitFor();

  // The card: a decline is shown, then a good card replaces it everywhere.
  await $(page, "portal-update-payment-method").click();
  await $(page, "card-number-input").fill(CARDS.declined);
  await $(page, "card-expiry-input").fill("12/34");
  await $(page, "card-cvc-input").fill("123");
  await h.formPost(page, `/portal/${portal.id}/payment_method`, () => $(page, "submit-button").click());
  assert.match(await $(page, "portal-error").innerText(), /declined/);
  await $(page, "card-number-input").fill("5555 5555 5555 4444");
  await $(page, "card-expiry-input").fill("12/34");
  await $(page, "card-cvc-input").fill("123");
  await h.formPost(page, `/portal/${portal.id}/payment_method`, () => $(page, "submit-button").click());
  assert.match(await $(page, "portal-payment-method").innerText(), /Mastercard •••• 4444/);
  const customer = await stripe().customers.retrieve(done.customer);
  const pm = customer.invoice_settings.default_payment_method;
  assert.match(pm, /^pm_/);
  assert.equal((await stripe().paymentMethods.retrieve(pm)).card.last4, "4444");
  assert.equal((await stripe().subscriptions.retrieve(subId)).default_payment_method, pm);

  // Cancel at the period's end, with a reason; then renew; then cancel again.
  await $(sub, "portal-cancel-button").click();
  await $(page, "portal-cancel-reason").selectOption("too_expensive");
  await h.formPost(page, `/portal/${portal.id}/cancel`, () => $(page, "portal-cancel-confirm").click());
  assert.equal(await $(sub, "portal-status").innerText(), "canceling");
  assert.equal((await stripe().subscriptions.retrieve(subId)).cancel_at_period_end, true);
  await h.formPost(page, `/portal/${portal.id}/resume`, () => $(sub, "portal-resume-button").click());
  assert.equal(await $(sub, "portal-status").innerText(), "active");
  assert.equal((await stripe().subscriptions.retrieve(subId)).cancel_at_period_end, false);
  await $(sub, "portal-cancel-button").click();
  await h.formPost(page, `/portal/${portal.id}/cancel`, () => $(page, "portal-cancel-confirm").click());
  const canceling = await stripe().subscriptions.retrieve(subId);
  assert.equal(canceling.cancel_at_period_end, true);
  assert.equal(canceling.status, "active", "it runs to the end of the period");

  // Every change went out as the API's events.
  const types = new Set((await stripe().events.list({ limit: 100 })).data.map((e) => e.type));
  for (const t of [
    "billing_portal.session.created",
    "customer.subscription.updated",
    "invoice.paid",
    "payment_method.attached",
    "customer.updated",
  ]) {
    assert.ok(types.has(t), `${t} in ${[...types]}`);
  }
  // Back to the merchant.
  await $(page, "portal-return-link").click();
  await page.waitForURL((u) => u.href.startsWith(`${h.merchant.url}/account`));
});

h.test("a portal session's URL deep-links into a flow and is readable at 375 px without script", async () => {
  const basic = await monthly(1500, "Solo");
  const checkout = await stripe().checkout.sessions.create({
    mode: "subscription",
    line_items: [{ price: basic.id, quantity: 1 }],
    success_url: `${h.merchant.url}/success?session_id={CHECKOUT_SESSION_ID}`,
  });
  const paid = await h.payByCard(checkout, { number: CARDS.ok });
  await h.landOnSuccess(paid, checkout);
  const done = await stripe().checkout.sessions.retrieve(checkout.id);
  const portal = await stripe().billingPortal.sessions.create({
    customer: done.customer,
    flow_data: {
      type: "subscription_cancel",
      subscription_cancel: { subscription: done.subscription },
      after_completion: { type: "redirect", redirect: { return_url: `${h.merchant.url}/bye` } },
    },
  });
  assert.equal(portal.flow.type, "subscription_cancel");
  const page = await h.newPage({ viewport: { width: 375, height: 740 }, javaScriptEnabled: false });
  await page.goto(portal.url);
  await $(page, "portal-cancel-confirm").waitFor();
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth).catch(() => 375);
  assert.ok(overflow <= 375, `no horizontal scrolling at 375 px: ${overflow}`);
  await $(page, "portal-cancel-confirm").click();
  await page.waitForURL((u) => u.href.startsWith(`${h.merchant.url}/bye`));
  assert.equal((await stripe().subscriptions.retrieve(done.subscription)).cancel_at_period_end, true);
});

void fillCardForm;
