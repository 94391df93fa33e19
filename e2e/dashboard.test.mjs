// The dashboard (issue 18) in Chromium: signing in with the key, finding a session created through
// the API by its id and opening its payment, a failing webhook attempt resent to a receiver that
// now answers 200, a test clock advanced by a month showing the renewal invoice, the request log
// showing a request just made with its idempotency key, a screenshot of every section (at 1440
// px, and the home page at 375 px) in artifacts/dashboard/, and the dashboard without JavaScript.

import assert from "node:assert/strict";
import { mkdir } from "node:fs/promises";
import http from "node:http";
import path from "node:path";

import { ARTIFACTS, byTestId, eventually, id, useKassa } from "./harness.mjs";

const h = useKassa({ name: "dashboard" });
const SHOTS = path.join(ARTIFACTS, "dashboard");

/** A webhook receiver that answers `r.status` (500 until told otherwise). */
async function flakyReceiver() {
  const r = { status: 500, got: 0 };
  const server = http.createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      r.got += 1;
      res.writeHead(r.status, { "content-type": "text/plain" }).end(r.status === 200 ? "ok" : "down");
    });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  r.url = `http://127.0.0.1:${server.address().port}/hooks`;
  r.close = () => new Promise((resolve) => server.close(resolve));
  return r;
}

/** A page signed in to the dashboard with the account's key. */
async function signedIn(options = {}) {
  const page = await h.newPage({ viewport: { width: 1440, height: 900 }, ...options });
  await page.goto(`${h.kassa.baseUrl}/dashboard`);
  assert.match(new URL(page.url()).pathname, /\/dashboard\/login$/, "signed out: the sign-in page");
  await byTestId(page, "dashboard-key-input").fill(h.kassa.key);
  await h.formPost(page, "/dashboard/login", () => byTestId(page, "dashboard-login-button").click());
  assert.equal(new URL(page.url()).pathname, "/dashboard");
  return page;
}

async function shot(page, name) {
  await mkdir(SHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
}

h.test("sign in, find a session by id and open its payment", async () => {
  const price = await h.kassa.price({ unit_amount: 1250, currency: "eur" });
  const session = await h.kassa.createSession({
    line_items: [{ price: price.id, quantity: 2 }],
    success_url: `${h.merchant.url}/success?session_id={CHECKOUT_SESSION_ID}`,
  });
  const paid = await h.payByCard(session);
  await h.landOnSuccess(paid, session);
  const withPi = await h.kassa.getSession(session.id);

  const page = await signedIn({ timezoneId: "Asia/Tokyo" });
  await byTestId(page, "nav-sessions").click();
  await byTestId(page, "list-search-input").fill(session.id);
  await byTestId(page, "list-search-input").press("Enter");
  const row = page.locator(`[data-testid="list-row"][data-id="${session.id}"]`);
  await row.waitFor();
  assert.equal(await byTestId(page, "list-row").count(), 1);
  assert.match(await row.innerText(), /25\.00 EUR/, "the amount in its currency");
  await row.getByRole("link", { name: session.id }).click();
  assert.equal(await byTestId(page, "object-id").innerText(), session.id);
  const shown = JSON.parse(await byTestId(page, "object-json").innerText());
  assert.equal(shown.id, session.id);
  assert.equal(shown.status, "complete");
  await page.locator(`a[href="/dashboard/payments/${withPi.payment_intent}"]`).first().click();
  assert.equal(await byTestId(page, "object-id").innerText(), withPi.payment_intent);
  assert.equal(JSON.parse(await byTestId(page, "object-json").innerText()).status, "succeeded");
  // Times are shown in the browser's zone by the script (UTC in the markup, kept as the title).
  const time = page.locator("time[data-ts]").first();
  assert.match(await time.getAttribute("title"), /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$/);
  assert.match(await time.innerText(), /GMT\+9/);
});

h.test("a failing webhook attempt, resent to a receiver that now answers 200", async () => {
  const receiver = await flakyReceiver();
  try {
    const endpoint = await h.kassa.api("POST", "/webhook_endpoints", {
      url: receiver.url,
      enabled_events: ["customer.created"],
    });
    await h.kassa.api("POST", "/customers", { email: `${id("hook")}@example.test` });
    const delivery = await eventually(
      async () => {
        const list = await h.kassa.api("GET", `/webhook_deliveries?webhook_endpoint=${endpoint.id}`);
        const d = list.data[0];
        assert.ok(d && d.attempts.length > 0, "a first attempt");
        return d;
      },
      { timeout: 20_000 },
    );
    const page = await signedIn();
    const failing = page.locator(`[data-testid="failing-endpoint"][data-id="${endpoint.id}"]`);
    await failing.waitFor();
    await byTestId(page, "nav-webhooks").click();
    await page.locator(`[data-testid="list-row"][data-id="${endpoint.id}"] a`).first().click();
    await page.locator(`[data-testid="related-row"][data-id="${delivery.id}"] a`).first().click();
    assert.equal(await byTestId(page, "object-id").innerText(), delivery.id);
    assert.match(await page.locator("table").innerText(), /500/, "the failed attempt's answer");

    receiver.status = 200;
    await h.formPost(page, "/resend", () => byTestId(page, "action-resend").click());
    assert.match(await byTestId(page, "action-result").innerText(), /Delivered: the endpoint answered 200/);
  } finally {
    await receiver.close();
  }
});

h.test("advance a test clock by a month and see the renewal invoice", async () => {
  const start = Math.floor(Date.UTC(2027, 0, 15, 12) / 1000);
  const clock = await h.kassa.api("POST", "/test_helpers/test_clocks", { frozen_time: start, name: "dash" });
  const customer = await h.kassa.api("POST", "/customers", { email: "clock@example.test", test_clock: clock.id });
  const plan = await h.kassa.price({ unit_amount: 900, interval: "month" });
  const session = await h.kassa.createSession({
    line_items: [{ price: plan.id, quantity: 1 }],
    customer: customer.id,
    success_url: `${h.merchant.url}/success?session_id={CHECKOUT_SESSION_ID}`,
  });
  // The customer's email is fixed on the page: only the card is filled in.
  const paid = await h.newPage();
  await paid.goto(session.url);
  await byTestId(paid, "name-input").fill("Clock Buyer");
  await byTestId(paid, "card-number-input").fill("4242 4242 4242 4242");
  await byTestId(paid, "card-expiry-input").fill("12/34");
  await byTestId(paid, "card-cvc-input").fill("123");
  await h.submitPayment(paid, session);
  await h.landOnSuccess(paid, session);

  const page = await signedIn();
  await byTestId(page, "nav-clocks").click();
  await page.locator(`[data-testid="list-row"][data-id="${clock.id}"] a`).first().click();
  const invoicesBefore = await page.locator('[data-testid="related-row"][data-id^="in_"]').count();
  assert.equal(invoicesBefore, 1, "the checkout's invoice");
  assert.equal(await byTestId(page, "advance-to-input").inputValue(), "2027-02-15T12:00", "a month on by default");
  await h.formPost(page, "/advance", () => byTestId(page, "action-advance").click());
  await eventually(
    async () => {
      await page.reload();
      assert.equal(await page.locator('[data-field="status"]').innerText(), "ready");
      assert.equal(await page.locator('[data-testid="related-row"][data-id^="in_"]').count(), 2);
    },
    { timeout: 20_000, interval: 300 },
  );
});

h.test("the request log shows a request just made, with its idempotency key", async () => {
  const key = id("idem");
  const r = await fetch(`${h.kassa.baseUrl}/v1/customers`, {
    method: "POST",
    headers: {
      Authorization: `Bearer ${h.kassa.key}`,
      "Idempotency-Key": key,
      "Content-Type": "application/x-www-form-urlencoded",
    },
    body: "email=logged%40example.test",
  });
  assert.equal(r.status, 200);
  const requestId = r.headers.get("request-id");
  const page = await signedIn();
  await byTestId(page, "nav-logs").click();
  const row = page.locator(`[data-testid="log-row"][data-request-id="${requestId}"]`);
  await eventually(async () => {
    await page.reload();
    assert.equal(await row.count(), 1);
  });
  await row.locator("summary").click();
  assert.equal(await row.locator('[data-testid="log-idempotency-key"]').innerText(), key);
  assert.doesNotMatch(await page.content(), new RegExp(h.kassa.key), "never the key");
  await byTestId(page, "log-filter-status").selectOption("4xx");
  await byTestId(page, "log-filter-button").click();
  assert.equal(await row.count(), 0, "a 2xx is not a 4xx");
});

h.test("every section, at 1440 px and the home page at 375 px, keyboard first", async () => {
  const page = await signedIn();
  // The first Tab reaches the skip link, then the home link: a keyboard gets everywhere.
  await page.keyboard.press("Tab");
  assert.equal(await page.evaluate(() => document.activeElement?.textContent), "Skip to content");
  await shot(page, "home");
  for (const nav of [
    "nav-sessions",
    "nav-payments",
    "nav-customers",
    "nav-subscriptions",
    "nav-invoices",
    "nav-products",
    "nav-coupons",
    "nav-events",
    "nav-webhooks",
    "nav-clocks",
    "nav-logs",
  ]) {
    await byTestId(page, nav).click();
    await page.waitForLoadState();
    assert.equal(await byTestId(page, nav).getAttribute("aria-current"), "page", nav);
    await shot(page, nav.replace("nav-", ""));
    const first = page.locator('[data-testid="list-row"] a').first();
    if ((await first.count()) > 0) {
      await first.click();
      await byTestId(page, "object-json").waitFor();
      await shot(page, `${nav.replace("nav-", "")}-detail`);
    }
  }
  const small = await signedIn({ viewport: { width: 375, height: 800 } });
  await shot(small, "home-375");
  const overflow = await small.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `no sideways scrolling at 375 px (${overflow} px)`);
  // The count cards are one height, whatever their titles wrap to, at both widths.
  for (const p of [small, page]) {
    await p.goto(`${h.kassa.baseUrl}/dashboard`);
    const heights = await p.locator('ul.counts a[data-testid^="count-"]').evaluateAll((cards) =>
      cards.map((c) => Math.round(c.getBoundingClientRect().height)),
    );
    assert.ok(heights.length >= 8, `${heights.length} cards`);
    assert.equal(new Set(heights).size, 1, `card heights ${heights.join(", ")}`);
  }
});

h.test("the request log pages with its filters kept", async () => {
  for (let i = 0; i < 55; i++) {
    await fetch(`${h.kassa.baseUrl}/v1/products/prod_gone_${i}`, { headers: { authorization: `Bearer ${h.kassa.key}` } });
  }
  const page = await signedIn();
  await page.goto(`${h.kassa.baseUrl}/dashboard/logs`);
  await byTestId(page, "log-filter-status").selectOption("4xx");
  await byTestId(page, "log-filter-path").fill("prod_gone_");
  await byTestId(page, "log-filter-button").click();
  await page.waitForLoadState();
  await eventually(async () => assert.equal(await byTestId(page, "log-row").count(), 50));
  await byTestId(page, "list-next-page").click();
  await page.waitForLoadState();
  assert.equal(await byTestId(page, "log-row").count(), 5);
  assert.equal(await byTestId(page, "log-filter-status").inputValue(), "4xx", "the filter stays");
  assert.equal(await byTestId(page, "log-filter-path").inputValue(), "prod_gone_");
  assert.equal(await byTestId(page, "list-next-page").count(), 0);
});

h.test("without JavaScript: sign in, expire a session from its page, times in UTC", async () => {
  const price = await h.kassa.price({ unit_amount: 700 });
  const session = await h.kassa.createSession({
    line_items: [{ price: price.id, quantity: 1 }],
    success_url: `${h.merchant.url}/success`,
  });
  const page = await signedIn({ javaScriptEnabled: false });
  await page.goto(`${h.kassa.baseUrl}/dashboard/sessions/${session.id}`);
  assert.match(await page.locator("time[data-ts]").first().innerText(), /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$/);
  assert.equal(await byTestId(page, "action-open-page").getAttribute("href"), session.url);
  await byTestId(page, "action-expire").focus();
  await h.formPost(page, "/expire", () => page.keyboard.press("Enter"));
  assert.equal(JSON.parse(await byTestId(page, "object-json").innerText()).status, "expired");
  assert.equal(await byTestId(page, "action-expire").count(), 0);
  assert.equal((await h.kassa.getSession(session.id)).status, "expired");
  await h.formPost(page, "/dashboard/logout", () => byTestId(page, "dashboard-logout").click());
  assert.equal(new URL(page.url()).pathname, "/dashboard/login");
});
