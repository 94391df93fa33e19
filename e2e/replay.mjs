// The integration replay (issue 15): real apps' exact session-create calls, kept as data in
// replay/integrations.json, made through Stripe's official SDKs (replay.test.mjs for Node,
// ../sdk/python/test_replay.py for Python), each paid on the hosted page in Chromium, then read
// back as the app reads it. This module holds what both suites share:
//
// - `integrations()`: the calls, and `resolve(value, ctx)` that fills their placeholders;
// - `payOnPage(page, ctx)`: fills whatever the page asks for (e-mail unless locked, name, billing
//   and shipping address, phone, tax id, terms, the card) and submits it;
// - `check(expect, objects, ctx)`: the read-back assertions;
// - as a program, `node e2e/replay.mjs pay URL SUCCESS_PREFIX EMAIL` opens URL in Chromium, pays
//   it as above, waits until the browser is on a URL starting with SUCCESS_PREFIX and prints it as
//   JSON (`{"landed": …}`): the Python suite pays this way, in the same browser as the Node suite.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { browser, byTestId, CARDS, openPage } from "./harness.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));

/** What the buyer types wherever the page asks for it. */
export const BUYER = {
  name: "Ada Lovelace",
  line1: "Unter den Linden 1",
  city: "Berlin",
  postalCode: "10117",
  country: "DE",
  phone: "+49 30 1234567",
  taxIdType: "eu_vat",
  taxId: "DE123456789",
};

/** The integrations of replay/integrations.json. */
export function integrations() {
  return JSON.parse(readFileSync(path.join(here, "replay", "integrations.json"), "utf8")).integrations;
}

const UNITS = { m: 60, h: 3600, d: 86_400 };

/**
 * `value` with its placeholders filled from `ctx` (`{now, merchant, email, customer, prices}`):
 * `$price:KIND`, `$customer`, `$email`, `$merchant…` (a prefix), `$now+N{m,h,d}`.
 */
export function resolve(value, ctx) {
  if (Array.isArray(value)) {
    return value.map((v) => resolve(v, ctx));
  }
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolve(v, ctx)]));
  }
  if (typeof value !== "string" || !value.startsWith("$")) {
    return value;
  }
  if (value.startsWith("$price:")) {
    const price = ctx.prices[value.slice("$price:".length)];
    assert.ok(price, `no fixture price for ${value}`);
    return price;
  }
  if (value.startsWith("$merchant")) {
    return ctx.merchant + value.slice("$merchant".length);
  }
  const time = /^\$now\+(\d+)([mhd])$/.exec(value);
  if (time) {
    return ctx.now + Number(time[1]) * UNITS[time[2]];
  }
  const named = { $customer: ctx.customer, $email: ctx.email };
  assert.ok(value in named, `unknown placeholder ${value}`);
  return named[value];
}

/** The prices (`{monthly, yearly, one_time}` → ids) the calls refer to, made with `createPrice`. */
export const PRICES = {
  monthly: { unit_amount: 2000, recurring: { interval: "month" } },
  yearly: { unit_amount: 20000, recurring: { interval: "year" } },
  one_time: { unit_amount: 1500 },
};

/** Which placeholders `params` uses: `{customer, prices: [...]}`. */
export function needs(params) {
  const text = JSON.stringify(params);
  return {
    customer: text.includes('"$customer"'),
    prices: Object.keys(PRICES).filter((k) => text.includes(`"$price:${k}"`)),
  };
}

async function present(page, testId) {
  return (await byTestId(page, testId).count()) > 0;
}

async function fillIf(page, testId, value) {
  const field = byTestId(page, testId);
  // Hidden fields (the billing address while "same as shipping" is checked) are left alone.
  if ((await field.count()) === 0 || !(await field.isVisible()) || !(await field.isEditable())) {
    return false;
  }
  if ((await field.evaluate((el) => el.tagName)) === "SELECT") {
    await field.selectOption(value);
  } else {
    await field.fill(value);
  }
  return true;
}

/**
 * Fill what the hosted page asks for and submit it: the e-mail (unless the session locked it),
 * the name, the billing address, the shipping address, the phone, a tax id, the terms, the card.
 * Returns the form POST's response.
 */
export async function payOnPage(page, { email }) {
  await fillIf(page, "email-input", email);
  await fillIf(page, "name-input", BUYER.name);
  // The country first: the page may re-render the state field for it.
  await fillIf(page, "address-country-input", BUYER.country);
  await fillIf(page, "address-line1-input", BUYER.line1);
  await fillIf(page, "address-city-input", BUYER.city);
  await fillIf(page, "address-postal-code-input", BUYER.postalCode);
  await fillIf(page, "shipping-country-input", BUYER.country);
  await fillIf(page, "shipping-name-input", BUYER.name);
  await fillIf(page, "shipping-line1-input", BUYER.line1);
  await fillIf(page, "shipping-city-input", BUYER.city);
  await fillIf(page, "shipping-postal-code-input", BUYER.postalCode);
  await fillIf(page, "phone-input", BUYER.phone);
  if (await present(page, "tax-id-value-input")) {
    await fillIf(page, "tax-id-type-input", BUYER.taxIdType);
    await fillIf(page, "tax-id-value-input", BUYER.taxId);
  }
  for (const box of ["terms-checkbox"]) {
    if (await present(page, box)) {
      await byTestId(page, box).check();
    }
  }
  await fillIf(page, "card-number-input", CARDS.ok);
  await fillIf(page, "card-expiry-input", "12/34");
  await fillIf(page, "card-cvc-input", "123");
  const sessionPath = new URL(page.url()).pathname;
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === "POST" && new URL(r.url()).pathname === sessionPath),
    byTestId(page, "submit-button").click(),
  ]);
  return response;
}

/** The value at `dotted` ("customer_details.tax_ids.0.value") in `object`. */
function at(object, dotted) {
  return dotted.split(".").reduce((o, key) => (o == null ? undefined : o[key]), object);
}

/**
 * Check each `[path, value]` of `expect` against `objects` (`{session, customer, subscription,
 * setup_intent, payment_intent, invoice}`); `$present` means not null, `$customer`/`$email`/
 * `$now+…` resolve as in the call.
 */
export function check(expect, objects, ctx, label) {
  for (const [where, want] of expect) {
    const [root, ...rest] = where.split(".");
    assert.ok(root in objects, `${label}: no ${root} to read ${where} from`);
    const got = at(objects[root], rest.join("."));
    if (want === "$present") {
      assert.ok(got !== null && got !== undefined, `${label}: ${where} is ${got}`);
    } else {
      assert.deepEqual(got, resolve(want, ctx), `${label}: ${where}`);
    }
  }
}

/** Which related objects `expect` reads, besides the session. */
export function roots(expect) {
  return [...new Set(expect.map(([p]) => p.split(".")[0]))].filter((r) => r !== "session");
}

async function main([command, url, successPrefix, email]) {
  if (command !== "pay" || !url || !successPrefix || !email) {
    console.error("usage: node e2e/replay.mjs pay URL SUCCESS_PREFIX EMAIL");
    process.exit(2);
  }
  const chromium = await browser();
  try {
    const page = await openPage(chromium);
    await page.goto(url);
    const response = await payOnPage(page, { email });
    await page
      .waitForURL((u) => u.href.startsWith(successPrefix), { timeout: 20_000 })
      .catch(async () => {
        const error = await byTestId(page, "payment-error")
          .textContent()
          .catch(() => null);
        throw new Error(
          `not on ${successPrefix} after paying (POST answered ${response.status()}, now on ${page.url()}` +
            `${error ? `, payment-error: ${error.trim()}` : ""})`,
        );
      });
    if (page.problems.length > 0) {
      throw new Error(`the page had problems: ${page.problems.join("; ")}`);
    }
    console.log(JSON.stringify({ landed: page.url() }));
  } finally {
    await chromium.close();
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).catch((err) => {
    console.error(err.message ?? err);
    process.exit(1);
  });
}
