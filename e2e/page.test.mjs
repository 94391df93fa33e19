// The hosted page (SPEC §6) in a real browser: what it shows, live totals, promotion codes, a
// phone-sized screen, no third-party requests, the page without JavaScript, and the keyboard.

import assert from "node:assert/strict";
import { stat, readFile } from "node:fs/promises";
import path from "node:path";
import { ARTIFACTS, byTestId as $, eventually, minorUnits, useKassa } from "./harness.mjs";

const h = useKassa();

/** Wait until the element with this test id shows exactly `text`. */
async function expectText(page, id, text) {
  await eventually(async () => assert.equal((await $(page, id).first().textContent()).trim(), text, id));
}

/**
 * A cart: 2 × T-shirt at 20.00 USD (adjustable 1–10) and 1 × sticker pack at 3.50 USD (fixed),
 * promotion codes allowed, card or PayPal. Total 43.50 USD.
 */
async function cart(extra = {}) {
  const shirt = await h.kassa.price({ name: "Organic cotton T-shirt", unit_amount: 2000 });
  const sticker = await h.kassa.price({ name: "Sticker pack", unit_amount: 350 });
  const session = await h.kassa.createSession({
    line_items: [
      { price: shirt.id, quantity: 2, adjustable_quantity: { enabled: true, minimum: 1, maximum: 10 } },
      { price: sticker.id, quantity: 1 },
    ],
    success_url: h.merchant.successUrl,
    cancel_url: h.merchant.cancelUrl,
    allow_promotion_codes: true,
    payment_method_types: ["card", "paypal"],
    mode: "payment",
    ...extra,
  });
  assert.ok(session.url, "a new session carries its url");
  return { session, shirt, sticker };
}

/** The promotion code SPRING for 10 % off (created once per server: active codes are unique). */
let spring;
function springCode() {
  spring ??= h.kassa
    .createCoupon({ percent_off: 10, duration: "once" })
    .then((coupon) => h.kassa.createPromotionCode({ coupon: coupon.id, code: "SPRING" }));
  return spring;
}

/** Mark the document, so that a later check can tell the page was not reloaded. */
const mark = (page) => page.evaluate(() => (window.__kassaE2eMark = "still here"));
const marked = (page) => page.evaluate(() => window.__kassaE2eMark ?? null);

h.test("the page shows each line, the totals and every control with its data-testid", async () => {
  const { session, shirt, sticker } = await cart();
  const page = await h.newPage();
  const response = await page.goto(session.url);
  assert.equal(response.status(), 200);

  const lines = $(page, "line-item");
  assert.equal(await lines.count(), 2);
  assert.equal(await lines.nth(0).getAttribute("data-price"), shirt.id);
  assert.equal(await lines.nth(1).getAttribute("data-price"), sticker.id);
  assert.match(await lines.nth(0).textContent(), /Organic cotton T-shirt/);
  assert.match(await lines.nth(0).textContent(), /\$20\.00/);
  assert.match(await lines.nth(1).textContent(), /Sticker pack/);

  // The adjustable line has the quantity controls, the fixed one has none.
  const shirtLine = lines.nth(0);
  for (const id of ["quantity-input", "quantity-increase", "quantity-decrease"]) {
    assert.equal(await $(shirtLine, id).count(), 1, id);
    assert.equal(await $(lines.nth(1), id).count(), 0, `${id} on a fixed line`);
  }
  assert.equal(await $(shirtLine, "quantity-input").inputValue(), "2");

  await expectText(page, "subtotal-amount", "$43.50");
  await expectText(page, "total-amount", "$43.50");
  assert.equal(await $(page, "discount-amount").count(), 0, "no discount yet");
  assert.equal(await $(page, "applied-discount").count(), 0, "no discount yet");
  assert.equal(await $(page, "trial-notice").count(), 0, "no trial in payment mode");

  // Every control is visible, and the form controls carry the id themselves.
  const controls = {
    "quantity-update": "BUTTON",
    "promo-code-input": "INPUT",
    "promo-code-apply": "BUTTON",
    "email-input": "INPUT",
    "name-input": "INPUT",
    "payment-method-card": "INPUT",
    "payment-method-paypal": "INPUT",
    "card-number-input": "INPUT",
    "card-expiry-input": "INPUT",
    "card-cvc-input": "INPUT",
    "submit-button": "BUTTON",
    "cancel-link": "A",
  };
  for (const [id, tag] of Object.entries(controls)) {
    const el = $(page, id);
    assert.equal(await el.count(), 1, `exactly one ${id}`);
    assert.equal(await el.evaluate((e) => e.tagName), tag, id);
  }
  for (const id of Object.keys(controls).filter((id) => id !== "quantity-update")) {
    assert.ok(await $(page, id).isVisible(), `${id} is visible`);
  }
  assert.equal(await $(page, "payment-method-card").getAttribute("type"), "radio");
  assert.ok(await $(page, "payment-method-card").isChecked(), "the first method is chosen");
  assert.equal(await $(page, "payment-method-customer_balance").count(), 0, "only the session's methods");
  assert.equal(await $(page, "cancel-link").getAttribute("href"), h.merchant.cancelUrl);
  assert.match(await $(page, "submit-button").textContent(), /\$43\.50/);

  // The error slots exist and are empty until something goes wrong.
  for (const id of ["promo-code-error", "payment-error"]) {
    assert.equal(await $(page, id).count(), 1, id);
    assert.equal((await $(page, id).textContent()).trim(), "", id);
    assert.equal(await $(page, id).isVisible(), false, `${id} is hidden while empty`);
  }
});

h.test("a subscription with a trial shows the trial and what is due today", async () => {
  const monthly = await h.kassa.price({ name: "Pro plan", unit_amount: 1500, interval: "month" });
  const session = await h.kassa.createSession({
    line_items: [{ price: monthly.id, quantity: 1 }],
    mode: "subscription",
    subscription_data: { trial_period_days: 14 },
    success_url: h.merchant.successUrl,
  });
  const page = await h.newPage();
  await page.goto(session.url);
  assert.match(await $(page, "line-item").textContent(), /per month/);
  assert.ok(await $(page, "trial-notice").isVisible());
  assert.match(await $(page, "trial-notice").textContent(), /14-day/);
  assert.match(await $(page, "trial-notice").textContent(), /\$15\.00/);
  assert.equal(minorUnits(await $(page, "total-amount").textContent()), session.amount_total);
  assert.equal(session.amount_total, 0, "nothing is due today during a trial");
  assert.equal(await $(page, "cancel-link").count(), 0, "no cancel_url, no link");
});

h.test("a merchant-given discount is shown and cannot be removed", async () => {
  const coupon = await h.kassa.createCoupon({ percent_off: 25 });
  const price = await h.kassa.price({ name: "Gift box", unit_amount: 4000 });
  const session = await h.kassa.createSession({
    line_items: [{ price: price.id, quantity: 1 }],
    discounts: [{ coupon: coupon.id }],
    success_url: h.merchant.successUrl,
  });
  const page = await h.newPage();
  await page.goto(session.url);
  assert.ok(await $(page, "applied-discount").isVisible());
  await expectText(page, "discount-amount", "−$10.00");
  await expectText(page, "total-amount", "$30.00");
  assert.equal(await $(page, "promo-code-remove").count(), 0);
  assert.equal(await $(page, "promo-code-input").count(), 0, "no code field beside a merchant discount");
});

h.test("live totals: + and typed quantities update the totals in place and are saved", async () => {
  const { session } = await cart();
  const page = await h.newPage();
  await page.goto(session.url);
  await mark(page);
  const line = $(page, "line-item").first();

  // quantity-increase posts to /pay/{id}/quantities asking for JSON, and the page updates in place.
  const [post] = await Promise.all([
    page.waitForRequest((r) => r.method() === "POST" && r.url() === `${h.kassa.baseUrl}/pay/${session.id}/quantities`),
    $(line, "quantity-increase").click(),
  ]);
  assert.match(post.headers().accept ?? "", /application\/json/);
  assert.equal((await post.response()).status(), 200);
  await expectText(page, "subtotal-amount", "$63.50");
  await expectText(page, "total-amount", "$63.50");
  assert.equal(await $(line, "quantity-input").inputValue(), "3");
  assert.match(await line.textContent(), /\$60\.00/, "the line total follows");
  assert.match(await $(page, "submit-button").textContent(), /\$63\.50/, "so does the pay button");
  assert.equal(await marked(page), "still here", "no reload");
  let saved = await h.kassa.getSession(session.id, ["line_items"]);
  assert.equal(saved.amount_total, 6350);
  assert.equal(saved.amount_subtotal, 6350);
  assert.equal(saved.line_items.data[0].quantity, 3);

  // A typed quantity and Enter.
  const input = $(line, "quantity-input");
  await input.fill("5");
  await Promise.all([
    page.waitForResponse((r) => r.url().endsWith(`/pay/${session.id}/quantities`)),
    input.press("Enter"),
  ]);
  await expectText(page, "total-amount", "$103.50");
  await expectText(page, "subtotal-amount", "$103.50");
  assert.equal(await marked(page), "still here", "Enter does not reload the page");
  saved = await h.kassa.getSession(session.id);
  assert.equal(saved.amount_total, 10350);

  // quantity-decrease.
  await Promise.all([
    page.waitForResponse((r) => r.url().endsWith(`/pay/${session.id}/quantities`)),
    $(line, "quantity-decrease").click(),
  ]);
  await expectText(page, "total-amount", "$83.50");
  assert.equal((await h.kassa.getSession(session.id)).amount_total, 8350);

  // Beyond the bounds (maximum 10): refused, nothing saved, the total stays.
  await input.fill("11");
  const [refused] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith(`/pay/${session.id}/quantities`)),
    input.press("Enter"),
  ]);
  assert.equal(refused.status(), 400);
  await eventually(async () => assert.equal(await input.inputValue(), "4", "the input goes back to the saved quantity"));
  await expectText(page, "total-amount", "$83.50");
  assert.equal((await h.kassa.getSession(session.id)).amount_total, 8350);
  assert.equal(await marked(page), "still here");
});

h.test("a promotion code typed in lowercase applies, can be removed, and an unknown one is refused inline", async () => {
  await springCode();
  const { session } = await cart();
  const page = await h.newPage();
  await page.goto(session.url);

  await $(page, "promo-code-input").fill("spring");
  await h.formPost(page, "/promotion_code", () => $(page, "promo-code-apply").click());
  await $(page, "applied-discount").waitFor();
  await expectText(page, "discount-amount", "−$4.35");
  await expectText(page, "total-amount", "$39.15");
  await expectText(page, "subtotal-amount", "$43.50");
  let saved = await h.kassa.getSession(session.id);
  assert.equal(saved.amount_total, 3915);
  assert.equal(saved.total_details.amount_discount, 435);

  // Live totals keep the discount in step: 3 × 20.00 + 3.50 = 63.50, 10 % off = 6.35.
  await Promise.all([
    page.waitForResponse((r) => r.url().endsWith(`/pay/${session.id}/quantities`)),
    $(page, "quantity-increase").click(),
  ]);
  await expectText(page, "discount-amount", "−$6.35");
  await expectText(page, "total-amount", "$57.15");
  assert.equal((await h.kassa.getSession(session.id)).amount_total, 5715);

  // Remove it again.
  await h.formPost(page, "/promotion_code/remove", () => $(page, "promo-code-remove").click());
  await $(page, "applied-discount").waitFor({ state: "detached" });
  await expectText(page, "total-amount", "$63.50");
  saved = await h.kassa.getSession(session.id);
  assert.equal(saved.amount_total, 6350);
  assert.equal(saved.total_details.amount_discount, 0);

  // An unknown code: the reason inline, nothing applied.
  await $(page, "promo-code-input").fill("NOPE-NOT-A-CODE");
  await h.formPost(page, "/promotion_code", () => $(page, "promo-code-apply").click());
  await eventually(async () => {
    const text = (await $(page, "promo-code-error").textContent()).trim();
    assert.ok(text.length > 0, "promo-code-error has a reason");
  });
  assert.ok(await $(page, "promo-code-error").isVisible());
  assert.equal(await $(page, "applied-discount").count(), 0);
  await expectText(page, "total-amount", "$63.50");
  assert.equal(await $(page, "promo-code-input").inputValue(), "NOPE-NOT-A-CODE", "the typed code is kept");
  assert.equal((await h.kassa.getSession(session.id)).amount_total, 6350);
});

h.test("on a 375-px-wide screen nothing overflows sideways; full-page screenshot", async () => {
  await springCode();
  const { session } = await cart();
  const page = await h.newPage();
  await page.setViewportSize({ width: 375, height: 800 });
  await page.goto(session.url);
  // With a discount applied the summary has every row it can have.
  await $(page, "promo-code-input").fill("spring");
  await h.formPost(page, "/promotion_code", () => $(page, "promo-code-apply").click());
  await $(page, "applied-discount").waitFor();

  const widths = await page.evaluate(() => ({
    document: document.documentElement.scrollWidth,
    body: document.body.scrollWidth,
    viewport: window.innerWidth,
  }));
  assert.equal(widths.viewport, 375);
  assert.ok(widths.document <= 375, `document is ${widths.document}px wide`);
  assert.ok(widths.body <= 375, `body is ${widths.body}px wide`);
  // Every control fits inside the screen.
  for (const id of ["quantity-input", "promo-code-remove", "card-number-input", "card-cvc-input", "submit-button"]) {
    const box = await $(page, id).first().boundingBox();
    assert.ok(box, `${id} is laid out`);
    assert.ok(box.x >= 0 && box.x + box.width <= 375, `${id} spans ${box.x}–${box.x + box.width}px`);
  }

  const file = path.join(ARTIFACTS, "hosted-page.png");
  await page.screenshot({ path: file, fullPage: true });
  const info = await stat(file);
  assert.ok(info.size > 1000, `screenshot is ${info.size} bytes`);
  const head = (await readFile(file)).subarray(0, 8);
  assert.deepEqual([...head], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], "a PNG");
});

h.test("the page makes no request to another origin", async () => {
  await springCode();
  const { session } = await cart();
  const page = await h.newPage();
  await page.goto(session.url);
  await Promise.all([
    page.waitForResponse((r) => r.url().endsWith(`/pay/${session.id}/quantities`)),
    $(page, "quantity-increase").click(),
  ]);
  await $(page, "promo-code-input").fill("SPRING");
  await h.formPost(page, "/promotion_code", () => $(page, "promo-code-apply").click());
  await $(page, "applied-discount").waitFor();
  await $(page, "payment-method-paypal").check();
  // reload() waits for the load event: the document and everything it loads. A request its
  // script made later to another origin would violate the page's CSP, which fails the test too.
  await page.reload();

  assert.ok(page.requests.length >= 6, `requests seen: ${page.requests.join(" ")}`);
  assert.ok(page.requests.some((u) => u.endsWith("/static/pay.js")), "the script loaded");
  assert.ok(page.requests.some((u) => u.endsWith("/static/pay.css")), "the stylesheet loaded");
  const foreign = page.requests.filter((u) => !u.startsWith(`${h.kassa.baseUrl}/`));
  assert.deepEqual(foreign, [], "every request goes to kassa itself");
});

h.test("the page sends a Content-Security-Policy, and a violation of it would fail the test", async () => {
  const { session } = await cart();
  const page = await h.newPage();
  const response = await page.goto(session.url);
  const csp = response.headers()["content-security-policy"] ?? "";
  assert.match(csp, /default-src 'none'/);
  assert.match(csp, /img-src 'self' data:/);
  assert.deepEqual(page.problems, [], "the page itself violates nothing");

  // An image from elsewhere, as injected markup would load it: blocked, and seen by the harness.
  await page.evaluate(() => {
    document.body.append(Object.assign(new Image(), { src: "http://elsewhere.invalid/x.png" }));
  });
  await eventually(() => assert.ok(page.problems.some((p) => /img-src blocked http:\/\/elsewhere\.invalid/.test(p))));
  page.problems.length = 0; // this one was on purpose
});

h.test("without JavaScript the + button and quantity-update post the form and the page shows the new total", async () => {
  await springCode();
  const { session } = await cart();
  const page = await h.newPage({ javaScriptEnabled: false });
  await page.goto(session.url);

  const post = await h.formPost(page, `/pay/${session.id}/quantities`, () => $(page, "quantity-increase").click());
  assert.equal(post.status(), 303, "a plain form post, answered with a redirect back");
  assert.notEqual(post.request().headers().accept ?? "", "application/json");
  await page.waitForURL(session.url);
  await page.waitForLoadState();
  await expectText(page, "total-amount", "$63.50");
  await expectText(page, "subtotal-amount", "$63.50");
  assert.equal(await $(page, "quantity-input").inputValue(), "3");
  assert.equal((await h.kassa.getSession(session.id)).amount_total, 6350);

  // A typed quantity with the no-JS update button.
  await $(page, "quantity-input").fill("5");
  await h.formPost(page, "/quantities", () => $(page, "quantity-update").click());
  await page.waitForURL(session.url);
  await expectText(page, "total-amount", "$103.50");
  assert.equal((await h.kassa.getSession(session.id)).amount_total, 10350);

  // A promotion code, too.
  await $(page, "promo-code-input").fill("spring");
  await h.formPost(page, "/promotion_code", () => $(page, "promo-code-apply").click());
  await $(page, "applied-discount").waitFor();
  await expectText(page, "total-amount", "$93.15");

  // Both payment methods' fields are simply all there.
  assert.ok(await $(page, "card-number-input").isVisible());
  assert.ok(await $(page, "payment-method-paypal").isVisible());
});

h.test("keyboard: Tab reaches the pay button", async () => {
  const { session } = await cart();
  const page = await h.newPage();
  await page.goto(session.url);
  const seen = [];
  for (let i = 0; i < 40; i++) {
    await page.keyboard.press("Tab");
    const id = await page.evaluate(() => document.activeElement?.getAttribute("data-testid") ?? document.activeElement?.tagName);
    seen.push(id);
    if (id === "submit-button") {
      break;
    }
  }
  assert.equal(seen.at(-1), "submit-button", `focus went through ${seen.join(", ")}`);
  for (const id of ["quantity-increase", "promo-code-input", "email-input", "card-number-input"]) {
    assert.ok(seen.includes(id), `${id} is reachable by Tab before the pay button`);
  }
  assert.ok(seen.indexOf("email-input") < seen.indexOf("card-number-input"), "contact before payment");
  const focused = await $(page, "submit-button").evaluate((e) => e === document.activeElement && e.matches(":focus-visible"));
  assert.ok(focused, "the focused pay button shows a focus ring");
});

h.test("cancel-link goes back to cancel_url and the session stays open", async () => {
  const { session } = await cart();
  const page = await h.newPage();
  await page.goto(session.url);
  await Promise.all([page.waitForURL(h.merchant.cancelUrl), $(page, "cancel-link").click()]);
  assert.ok(await $(page, "merchant-cancel").isVisible());
  assert.equal((await h.kassa.getSession(session.id)).status, "open");
});

h.test("an expired session shows session-expired and no payment form", async () => {
  const { session } = await cart();
  await h.kassa.expireSession(session.id);
  const page = await h.newPage();
  await page.goto(session.url);
  assert.ok(await $(page, "session-expired").isVisible());
  assert.equal(await $(page, "submit-button").count(), 0);
  assert.equal(await $(page, "card-number-input").count(), 0);
});
