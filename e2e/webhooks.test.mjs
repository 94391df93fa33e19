// Webhooks as a merchant's backend receives them, checked with Stripe's own library (the `stripe`
// npm package): kassa's deliveries must pass `stripe.webhooks.constructEvent`, and a tampered body
// or another secret must not. The same for what `kassa listen` forwards.
//
// No browser here: a kassa server, a plain node:http receiver, and the API.

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import Stripe from "stripe";

import { eventually, startReceiver, useKassa, useReceiver, Watched } from "./harness.mjs";

/** Only verifies signatures: it never calls an API (clients that do come from `stripeClient`). */
const stripe = new Stripe("sk_test_unused_for_verification");

const h = useKassa({ name: "webhooks" });
const r = useReceiver();

h.test("deliveries pass Stripe's constructEvent; a tampered body or another secret does not", async () => {
  const kassa = h.kassa;
  const endpoint = await kassa.api("POST", "/webhook_endpoints", {
    url: r.receiver.url,
    enabled_events: ["customer.created", "checkout.session.expired"],
  });
  assert.match(endpoint.secret, /^whsec_/);

  const customer = await kassa.api("POST", "/customers", { email: "stripe-lib@example.test" });
  const price = await kassa.price({ unit_amount: 900 });
  const session = await kassa.createSession({ line_items: [{ price: price.id, quantity: 1 }] });
  await kassa.expireSession(session.id);

  // Each delivery is its own request: they may arrive in either order.
  const got = await r.receiver.waitFor(2);
  const verified = got.map((g) => ({
    ...g,
    event: stripe.webhooks.constructEvent(g.body, g.headers["stripe-signature"], endpoint.secret),
  }));
  const byType = (type) => {
    const found = verified.filter((v) => v.event.type === type);
    assert.equal(found.length, 1, `one ${type} delivery among ${verified.map((v) => v.event.type)}`);
    return found[0];
  };
  const first = byType("customer.created");
  assert.equal(first.event.data.object.id, customer.id);
  assert.equal(first.event.object, "event");
  const expired = byType("checkout.session.expired").event;
  assert.equal(expired.data.object.id, session.id);
  assert.equal(expired.data.object.status, "expired");

  const tampered = first.body.replace("stripe-lib@", "attacker@");
  assert.notEqual(tampered, first.body);
  assert.throws(
    () => stripe.webhooks.constructEvent(tampered, first.headers["stripe-signature"], endpoint.secret),
    (e) => e.type === "StripeSignatureVerificationError",
  );
  assert.throws(
    () => stripe.webhooks.constructEvent(first.body, first.headers["stripe-signature"], "whsec_another"),
    (e) => e.type === "StripeSignatureVerificationError",
  );
  // An old timestamp is refused by the library's tolerance: kassa signs with the wall clock.
  const t = Number(first.headers["stripe-signature"].split(",")[0].slice(2));
  assert.ok(Math.abs(Date.now() / 1000 - t) < 300);

  await kassa.api("DELETE", `/webhook_endpoints/${endpoint.id}`);
});

h.test("kassa listen forwards events that Stripe's library verifies with the secret it prints", async () => {
  const listenReceiver = await startReceiver();
  const args = ["listen", "--forward-to", listenReceiver.url, "--api-url", h.kassa.baseUrl];
  const child = spawn(process.env.KASSA_BIN, args, {
    env: { ...process.env, KASSA_SECRET_KEY: h.kassa.key, NO_COLOR: "1" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  // Watched like the server: the test fails at once if it ends, and it must exit 0 on ^C.
  const listen = new Watched(child, `kassa listen (pid ${child.pid})`);
  let out = "";
  child.stdout.on("data", (d) => (out += d.toString()));
  child.stderr.on("data", (d) => (out += d.toString()));
  let ok = false;
  try {
    await listen.guard(
      (async () => {
        const secret = await eventually(
          () => {
            const m = out.match(/whsec_[A-Za-z0-9]+/);
            assert.ok(m, `no ready line from kassa listen yet: ${out}`);
            return m[0];
          },
          { timeout: 15_000 },
        );
        const customer = await h.kassa.api("POST", "/customers", { email: "listen@example.test" });
        const [got] = await listenReceiver.waitFor(1);
        const event = stripe.webhooks.constructEvent(got.body, got.headers["stripe-signature"], secret);
        assert.equal(event.type, "customer.created");
        assert.equal(event.data.object.id, customer.id);
      })(),
    );
    ok = true;
  } catch (err) {
    err.message += `\nkassa listen said: ${out}`;
    throw err;
  } finally {
    if (!ok) {
      await listen.abandon();
    }
    await listenReceiver.close();
  }
  await listen.stop("SIGINT");
});
