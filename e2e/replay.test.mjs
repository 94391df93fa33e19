// The integration replay through Stripe's Node SDK (issue 15): for each app in
// replay/integrations.json, its exact session-create call made with `stripe` from npm, the session
// paid on the hosted page in Chromium (filling what the page asks for), the browser landing on the
// app's success_url, and the objects read back as the app reads them. The Python twin is
// ../sdk/python/test_replay.py; the shared parts are in replay.mjs.

import { id, stripeClient, useKassa } from "./harness.mjs";
import { check, integrations, needs, payOnPage, PRICES, resolve, roots } from "./replay.mjs";

const h = useKassa();

let client;
const stripe = () => (client ??= stripeClient(h.kassa.baseUrl, h.kassa.key));

/** Retrieve each related object `expect` reads, through the SDK. */
async function related(session, wanted) {
  const objects = { session };
  const fetchers = {
    customer: (s) => s.customer && stripe().customers.retrieve(s.customer),
    subscription: (s) => s.subscription && stripe().subscriptions.retrieve(s.subscription),
    payment_intent: (s) => s.payment_intent && stripe().paymentIntents.retrieve(s.payment_intent),
    setup_intent: (s) => s.setup_intent && stripe().setupIntents.retrieve(s.setup_intent),
    invoice: (s) => s.invoice && stripe().invoices.retrieve(s.invoice),
  };
  for (const root of wanted) {
    objects[root] = (await fetchers[root](session)) ?? null;
  }
  return objects;
}

for (const app of integrations()) {
  h.test(`replay: ${app.name}`, async () => {
    const ctx = {
      now: Math.floor(Date.now() / 1000),
      merchant: h.merchant.url,
      email: `${id("buyer")}@example.com`,
      prices: {},
    };
    const need = needs(app.params);
    if (need.customer) {
      ctx.customer = (await stripe().customers.create({ email: ctx.email })).id;
    }
    for (const kind of need.prices) {
      const product = await stripe().products.create({ name: id(`${app.name} ${kind}`) });
      ctx.prices[kind] = (await stripe().prices.create({ product: product.id, currency: "usd", ...PRICES[kind] })).id;
    }

    const params = resolve(app.params, ctx);
    const created = await stripe().checkout.sessions.create(params);
    const success = params.success_url.replace("{CHECKOUT_SESSION_ID}", created.id);

    const page = await h.newPage();
    await page.goto(created.url);
    const response = await payOnPage(page, ctx);
    await page.waitForURL((u) => u.href === success, { timeout: 20_000 }).catch(async () => {
      const error = await page.locator('[data-testid="payment-error"]').textContent().catch(() => null);
      throw new Error(`${app.name}: not on ${success} (POST ${response.status()}, on ${page.url()}): ${error}`);
    });

    const session = await stripe().checkout.sessions.retrieve(created.id);
    check(app.expect, await related(session, roots(app.expect)), ctx, app.name);
  });
}
