// Webhooks as a merchant's backend receives them, checked with Stripe's own library (the `stripe`
// npm package): kassa's deliveries must pass `stripe.webhooks.constructEvent`, and a tampered body
// or another secret must not. The same for what `kassa listen` forwards.
//
// No browser here: a kassa server, a plain node:http receiver, and the API.

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import http from "node:http";
import { after, before, test } from "node:test";
import Stripe from "stripe";

import { startKassa } from "./harness.mjs";

const stripe = new Stripe("sk_test_unused_for_verification");

/** A receiver that keeps every request's raw body and headers, and answers 200. */
async function startReceiver() {
  const got = [];
  const waiters = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      got.push({ headers: req.headers, body: Buffer.concat(chunks).toString("utf8") });
      res.writeHead(200, { "content-type": "text/plain" }).end("ok");
      for (const w of waiters.splice(0)) w();
    });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${server.address().port}/webhooks`;
  /** Resolves once `n` requests have arrived (or rejects after `ms`). */
  const waitFor = async (n, ms = 15_000) => {
    const deadline = Date.now() + ms;
    while (got.length < n) {
      if (Date.now() > deadline) throw new Error(`only ${got.length} of ${n} webhooks arrived`);
      await new Promise((resolve) => {
        waiters.push(resolve);
        setTimeout(resolve, 100);
      });
    }
    return got;
  };
  return { url, got, waitFor, close: () => new Promise((r) => server.close(r)) };
}

let kassa;
let receiver;

before(async () => {
  kassa = await startKassa({ name: "webhooks" });
  receiver = await startReceiver();
});

after(async () => {
  await receiver?.close();
  await kassa?.stop();
});

test("deliveries pass Stripe's constructEvent; a tampered body or another secret does not", async () => {
  const endpoint = await kassa.api("POST", "/webhook_endpoints", {
    url: receiver.url,
    enabled_events: ["customer.created", "checkout.session.expired"],
  });
  assert.match(endpoint.secret, /^whsec_/);

  const customer = await kassa.api("POST", "/customers", { email: "stripe-lib@example.test" });
  const price = await kassa.price({ unit_amount: 900 });
  const session = await kassa.createSession({ line_items: [{ price: price.id, quantity: 1 }] });
  await kassa.expireSession(session.id);

  const got = await receiver.waitFor(2);
  const [first, second] = got;
  const event = stripe.webhooks.constructEvent(first.body, first.headers["stripe-signature"], endpoint.secret);
  assert.equal(event.type, "customer.created");
  assert.equal(event.data.object.id, customer.id);
  assert.equal(event.object, "event");
  const expired = stripe.webhooks.constructEvent(second.body, second.headers["stripe-signature"], endpoint.secret);
  assert.equal(expired.type, "checkout.session.expired");
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

test("kassa listen forwards events that Stripe's library verifies with the secret it prints", async () => {
  const listenReceiver = await startReceiver();
  const child = spawn(
    process.env.KASSA_BIN,
    ["listen", "--forward-to", listenReceiver.url, "--api-url", kassa.baseUrl],
    { env: { ...process.env, KASSA_SECRET_KEY: kassa.key, NO_COLOR: "1" }, stdio: ["ignore", "pipe", "pipe"] },
  );
  try {
    const secret = await new Promise((resolve, reject) => {
      let out = "";
      const timer = setTimeout(() => reject(new Error(`no ready line from kassa listen: ${out}`)), 15_000);
      child.stdout.on("data", (d) => {
        out += d.toString();
        const m = out.match(/whsec_[A-Za-z0-9]+/);
        if (m) {
          clearTimeout(timer);
          resolve(m[0]);
        }
      });
      child.on("exit", (code) => reject(new Error(`kassa listen exited with ${code}: ${out}`)));
    });
    const customer = await kassa.api("POST", "/customers", { email: "listen@example.test" });
    const [got] = await listenReceiver.waitFor(1);
    const event = stripe.webhooks.constructEvent(got.body, got.headers["stripe-signature"], secret);
    assert.equal(event.type, "customer.created");
    assert.equal(event.data.object.id, customer.id);
  } finally {
    child.kill("SIGINT");
    await listenReceiver.close();
  }
});
