// `kassa trigger` as a merchant's developer uses it: each event type kassa emits is triggered
// (`kassa trigger TYPE --json`) while a webhook endpoint listens, and the event it names must
// arrive there signed so that Stripe's own library (`stripe.webhooks.constructEvent`, from the
// `stripe` npm package) verifies it, with the type and the `data.object` the trigger printed.
//
// No browser here: the trigger pays on the hosted page itself, as a browser's form post would.

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import Stripe from "stripe";

import { eventually, useKassa, useReceiver } from "./harness.mjs";

/** Only verifies signatures: it never calls an API. */
const stripe = new Stripe("sk_test_unused_for_verification");

const h = useKassa({ name: "trigger" });
const r = useReceiver();

/** `kassa trigger ...args` against this file's kassa; its standard output, or a failure with both. */
async function trigger(...args) {
  try {
    const { stdout } = await promisify(execFile)(process.env.KASSA_BIN, ["trigger", ...args], {
      env: { ...process.env, KASSA_API_URL: h.kassa.baseUrl, KASSA_SECRET_KEY: h.kassa.key, NO_COLOR: "1" },
      timeout: 60_000,
    });
    return stdout;
  } catch (err) {
    err.message += `\nstdout: ${err.stdout}\nstderr: ${err.stderr}`;
    throw err;
  }
}

h.test("every event type kassa triggers arrives signed, verified by Stripe's constructEvent", async () => {
  const endpoint = await h.kassa.api("POST", "/webhook_endpoints", { url: r.receiver.url, enabled_events: ["*"] });
  const types = JSON.parse(await trigger("--list", "--json"));
  assert.ok(types.length >= 16, `only ${types.length} types listed`);
  assert.ok(types.some((t) => t.type === "customer.subscription.trial_will_end"));

  /** Every delivery so far, verified; throws if any one does not verify. */
  const verified = () =>
    r.receiver.got.map((g) => stripe.webhooks.constructEvent(g.body, g.headers["stripe-signature"], endpoint.secret));

  for (const { type, description } of types) {
    const out = JSON.parse(await trigger(type, "--json"));

    // The shape of `--json`.
    assert.deepEqual(Object.keys(out).sort(), ["data_object", "description", "event", "objects", "type"]);
    assert.equal(out.type, type);
    assert.equal(out.description, description);
    assert.ok(out.objects.length > 0);
    for (const o of out.objects) {
      assert.deepEqual(Object.keys(o).sort(), ["id", "object"]);
      assert.match(o.id, /^[a-z]+_[A-Za-z0-9_]+$/);
    }
    assert.ok(
      out.objects.some((o) => o.id === out.data_object.id && o.object === out.data_object.object),
      `${type}: the event is about one of the objects made`,
    );
    assert.equal(out.event.object, "event");
    assert.equal(out.event.type, type);
    // An upcoming invoice is not saved, so has no id (as on Stripe): it is about its subscription.
    const subject = (o) => (type === "invoice.upcoming" ? (assert.equal(o.id, undefined), o.subscription) : o.id);
    assert.equal(subject(out.event.data.object), out.data_object.id);

    // The event itself reaches the endpoint, and Stripe's library accepts its signature.
    const event = await eventually(
      () => {
        const found = verified().find((e) => e.id === out.event.id);
        assert.ok(found, `the ${type} event ${out.event.id} has not arrived`);
        return found;
      },
      { timeout: 20_000 },
    );
    assert.equal(event.type, type);
    assert.equal(subject(event.data.object), out.data_object.id);
    assert.equal(event.data.object.object, type === "invoice.upcoming" ? "invoice" : out.data_object.object);
  }
  await h.kassa.api("DELETE", `/webhook_endpoints/${endpoint.id}`);
});
