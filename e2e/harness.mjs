// The browser-test harness: one kassa server, one merchant stand-in and one headless Chromium
// per test file.
//
//   import { useKassa } from "./harness.mjs";
//   const h = useKassa();            // registers before/after hooks for this file
//   h.test("…", async (t) => { const page = await h.newPage(); … });
//
// It builds nothing: it runs the binary named by $KASSA_BIN (scripts/test passes
// $CARGO_TARGET_DIR/debug/kassa) as
//   kassa serve --listen 127.0.0.1:<free port> --database-url sqlite://<tmpdir>/kassa.db
// with KASSA_SECRET_KEY=sk_test_<random>, waits for GET /health, and stops it (SIGTERM) after the
// file. Chromium is Debian's (`apt-get install chromium`), driven by playwright-core; Playwright
// never downloads a browser here. $CHROMIUM_PATH overrides where it is looked for.
//
// Each file's server log goes to artifacts/<file>.kassa.log; a failing test leaves a screenshot of
// each of its pages in artifacts/failures/.
//
// A test fails, besides on its own assertions, when kassa ends under it, and when a page it opened
// violates its Content-Security-Policy or throws an uncaught error (`openPage`).

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createWriteStream, existsSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import http from "node:http";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { after, afterEach, before, test as nodeTest } from "node:test";
import { chromium } from "playwright-core";
import Stripe from "stripe";

const here = path.dirname(fileURLToPath(import.meta.url));
export const ARTIFACTS = path.join(here, "artifacts");

/** Flags for Chromium on this kind of machine: root, no GPU, a network closed to the outside. */
export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** Debian's Chromium: the real binary first (the /usr/bin wrapper script prints a shell warning). */
export function chromiumPath() {
  const candidates = [process.env.CHROMIUM_PATH, "/usr/lib/chromium/chromium", "/usr/bin/chromium"];
  const found = candidates.find((p) => p && existsSync(p));
  if (!found) {
    throw new Error(
      "Chromium not found (looked at $CHROMIUM_PATH, /usr/lib/chromium/chromium, /usr/bin/chromium); " +
        "install Debian's package: apt-get install -y chromium",
    );
  }
  return found;
}

function kassaBin() {
  const bin = process.env.KASSA_BIN;
  if (!bin) {
    throw new Error("KASSA_BIN is not set: point it at a built kassa binary (cargo build -p kassa)");
  }
  if (!existsSync(bin)) {
    throw new Error(`KASSA_BIN=${bin} does not exist; build it with cargo build -p kassa`);
  }
  return bin;
}

/** A port nobody listens on right now. */
async function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Poll `fn` every `interval` ms until it stops throwing, and return what it returned; after
 * `timeout` ms, throw its last error. For waiting on a condition (a status, a webhook), not a time.
 */
export async function eventually(fn, { timeout = 10_000, interval = 50 } = {}) {
  const deadline = Date.now() + timeout;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() > deadline) {
        throw err;
      }
      await sleep(interval);
    }
  }
}

/** A name no other test uses (`prefix-1a2b3c4d`), so that tests can share one server. */
export const id = (prefix = "e2e") => `${prefix}-${randomBytes(4).toString("hex")}`;

/** The element with this `data-testid` (SPEC §6) in `scope`, a page or a locator. */
export const byTestId = (scope, testId) => scope.locator(`[data-testid="${testId}"]`);

/** The test network's cards (SPEC §7). Any future expiry and any 3–4 digit CVC will do. */
export const CARDS = {
  ok: "4242 4242 4242 4242",
  declined: "4000000000000002",
  threeDSecure: "4000002760003184",
};

/** Fill the buyer's part of the hosted page's form: `email-input` and `name-input`. */
export async function fillBuyer(page, { email = "ada@example.com", name = "Ada Lovelace" } = {}) {
  await byTestId(page, "email-input").fill(email);
  await byTestId(page, "name-input").fill(name);
}

/**
 * Fill the hosted page's card form: the buyer (`fillBuyer`), then `card-number-input`,
 * `card-expiry-input` (MM/YY) and `card-cvc-input`. It does not submit (`submit-button`).
 */
export async function fillCardForm(page, { number = CARDS.ok, expiry = "12/34", cvc = "123", ...buyer } = {}) {
  await fillBuyer(page, buyer);
  await byTestId(page, "card-number-input").fill(number);
  await byTestId(page, "card-expiry-input").fill(expiry);
  await byTestId(page, "card-cvc-input").fill(cvc);
}

const slug = (s) =>
  s
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-|-$/g, "")
    .slice(0, 80);

/** An API error with the status and body kassa answered. */
export class ApiError extends Error {
  constructor(method, route, status, body) {
    super(`${method} ${route} answered ${status}: ${JSON.stringify(body)}`);
    this.status = status;
    this.body = body;
  }
}

/** How a process ended, in words: "exit code 1", "signal SIGKILL". */
export function describeExit(exit) {
  if (!exit) {
    return "still running";
  }
  return exit.signal ? `signal ${exit.signal}` : `exit code ${exit.code}`;
}

/**
 * What is wrong with how a process the tests depend on ended (`exit` is node's `{code, signal}`),
 * or null if nothing is. `stopping` says whether the harness had asked it to stop. Any end it was
 * not asked for is wrong, whatever the code (it died under the tests); asked to stop (SIGTERM,
 * SIGINT), it must exit 0 (SPEC §1), not die of the signal or of another one.
 */
export function exitProblem(label, exit, { stopping }) {
  if (!exit) {
    return null;
  }
  if (!stopping) {
    return `${label} ended while the tests ran (${describeExit(exit)})`;
  }
  if (exit.signal !== null || exit.code !== 0) {
    return `${label} ended with ${describeExit(exit)} when asked to stop (SPEC §1: exit 0)`;
  }
  return null;
}

/**
 * A child process the tests depend on (`kassa serve`, `kassa listen`), watched from its start:
 * `check()` throws if it has ended without being asked to; `died` rejects the moment it does
 * (race a test against it, as `guard` does, to fail at once instead of timing out); `stop()` sends
 * the signal and requires exit code 0 within `timeout` ms. It is SIGKILLed if node exits first.
 */
export class Watched {
  constructor(child, label, logPath = null) {
    this.child = child;
    this.label = label;
    this.logPath = logPath;
    /** `{code, signal}` once it has ended. */
    this.exit = null;
    this.stopping = false;
    this.exited = new Promise((resolve) =>
      child.once("exit", (code, signal) => {
        this.exit = { code, signal };
        resolve(this.exit);
      }),
    );
    /** Rejects as soon as the process ends unasked (or badly when asked); otherwise never settles. */
    this.died = this.exited.then(() => {
      this.check();
      return new Promise(() => {});
    });
    this.died.catch(() => {});
    this.killOnExit = () => child.kill("SIGKILL");
    process.on("exit", this.killOnExit);
  }

  /** Throws if the process ended without being asked to, or ended badly when asked. */
  check() {
    const problem = exitProblem(this.label, this.exit, { stopping: this.stopping });
    if (problem) {
      const err = new Error(this.logPath ? `${problem}; log: ${this.logPath}` : problem);
      err.process = this;
      throw err;
    }
  }

  /** `promise`, unless the process dies first: then the process's death. */
  guard(promise) {
    return Promise.race([promise, this.died]);
  }

  /** Stop it with `signal`; throws unless it exits 0 within `timeout` ms (then it is SIGKILLed). */
  async stop(signal = "SIGTERM", timeout = 10_000) {
    process.off("exit", this.killOnExit);
    if (this.exit) {
      this.check(); // it ended before it was asked to: that throws
      return this.exit;
    }
    this.stopping = true;
    this.child.kill(signal);
    let timer;
    const exit = await Promise.race([this.exited, new Promise((resolve) => (timer = setTimeout(resolve, timeout)))]);
    clearTimeout(timer);
    if (!exit) {
      this.child.kill("SIGKILL");
      await this.exited;
      throw new Error(`${this.label} did not stop within ${timeout} ms of ${signal}; log: ${this.logPath ?? "-"}`);
    }
    this.check();
    return exit;
  }

  /** Kill it without asking (a start that failed); nothing is checked. */
  async abandon() {
    process.off("exit", this.killOnExit);
    this.stopping = true;
    if (!this.exit) {
      this.child.kill("SIGKILL");
    }
    return this.exited;
  }
}

/**
 * Start kassa on a free port with a fresh SQLite database. Resolves once GET /health answers 200.
 * `name` names its log file in artifacts/. The process is `Watched`: `kassa.check()` throws once
 * it has ended, and `kassa.stop()` (SIGTERM) throws unless it exits 0.
 */
export async function startKassa({ name = "kassa" } = {}) {
  const bin = kassaBin();
  await mkdir(ARTIFACTS, { recursive: true });
  const dir = await mkdtemp(path.join(tmpdir(), "kassa-e2e-"));
  const key = `sk_test_${randomBytes(24).toString("hex")}`;
  const logPath = path.join(ARTIFACTS, `${name}.kassa.log`);
  const log = createWriteStream(logPath);

  let lastError;
  for (let attempt = 1; attempt <= 3; attempt++) {
    const port = await freePort();
    const baseUrl = `http://127.0.0.1:${port}`;
    const child = spawn(
      bin,
      ["serve", "--listen", `127.0.0.1:${port}`, "--database-url", `sqlite://${path.join(dir, "kassa.db")}`],
      {
        env: { ...process.env, KASSA_SECRET_KEY: key, RUST_LOG: process.env.RUST_LOG ?? "info", NO_COLOR: "1" },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    const watched = new Watched(child, `kassa serve (${name}, pid ${child.pid})`, logPath);
    child.stdout.pipe(log, { end: false });
    child.stderr.pipe(log, { end: false });

    const healthy = await eventually(
      async () => {
        if (watched.exit) {
          return false;
        }
        const r = await fetch(`${baseUrl}/health`);
        assert.ok(r.ok, `GET /health answered ${r.status}`);
        return true;
      },
      { timeout: 20_000 },
    ).catch(() => false);
    if (healthy) {
      const stop = async () => {
        try {
          return await watched.stop("SIGTERM");
        } finally {
          log.end();
          await rm(dir, { recursive: true, force: true });
        }
      };
      return new Kassa(baseUrl, key, watched, stop, logPath);
    }
    await watched.abandon();
    lastError = new Error(
      `kassa did not become healthy on port ${port} (attempt ${attempt}, ${describeExit(watched.exit)}); ` +
        `log: ${logPath}`,
    );
  }
  log.end();
  await rm(dir, { recursive: true, force: true });
  throw lastError;
}

/**
 * How often Stripe's SDK may retry a request on its own: never, in this suite, so that a 409 or a
 * 5xx from kassa, or a lost connection, is seen by the test that caused it instead of being
 * retried away. A test about retries asks for them itself (`{maxNetworkRetries: 2}`).
 */
export const SDK_MAX_NETWORK_RETRIES = 0;

/**
 * Stripe's own Node SDK aimed at `baseUrl` as a merchant would aim it (host, port and protocol
 * only) with `key`; every client that calls kassa is made here. `options` go to `new Stripe`.
 */
export function stripeClient(baseUrl, key, options = {}) {
  const url = new URL(baseUrl);
  return new Stripe(key, {
    host: url.hostname,
    port: Number(url.port),
    protocol: "http",
    maxNetworkRetries: SDK_MAX_NETWORK_RETRIES,
    ...options,
  });
}

/** A running kassa and its HTTP API, as a merchant's backend uses it. */
export class Kassa {
  constructor(baseUrl, key, process, stop, logPath) {
    this.baseUrl = baseUrl;
    this.key = key;
    /** @type {Watched} */
    this.process = process;
    /** SIGTERM it and wait; throws unless it exits 0. */
    this.stop = stop;
    this.logPath = logPath;
  }

  /** Throws if the server has ended (it never should while tests run). */
  check() {
    this.process.check();
  }

  /** A JSON API call; throws ApiError unless the status is 2xx. */
  async api(method, route, body) {
    const r = await fetch(`${this.baseUrl}${route}`, {
      method,
      headers: {
        Authorization: `Bearer ${this.key}`,
        Accept: "application/json",
        ...(body === undefined ? {} : { "Content-Type": "application/json" }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await r.text();
    let json;
    try {
      json = text ? JSON.parse(text) : null;
    } catch {
      json = text;
    }
    if (!r.ok) {
      throw new ApiError(method, route, r.status, json);
    }
    return json;
  }

  createProduct(params) {
    return this.api("POST", "/products", params);
  }

  /** `{product, unit_amount, currency, recurring: {interval}}`. */
  createPrice(params) {
    return this.api("POST", "/prices", params);
  }

  /** `{percent_off}` or `{amount_off, currency}`, plus `duration` etc. */
  createCoupon(params) {
    return this.api("POST", "/coupons", params);
  }

  /** `{coupon, code}`. */
  createPromotionCode(params) {
    return this.api("POST", "/promotion_codes", params);
  }

  /** `POST /checkout/session`; the answer carries `url`. */
  createSession(params) {
    return this.api("POST", "/checkout/session", params);
  }

  getSession(id, expand = []) {
    const q = expand.map((e) => `expand[]=${encodeURIComponent(e)}`).join("&");
    return this.api("GET", `/checkout/session/${id}${q ? `?${q}` : ""}`);
  }

  expireSession(id) {
    return this.api("POST", `/checkout/session/${id}/expire`);
  }

  /** A product with one price: `{name, unit_amount, currency = "usd", interval?}` → the price. */
  async price({ name = "Item", unit_amount, currency = "usd", interval } = {}) {
    const product = await this.createProduct({ name });
    return this.createPrice({
      product: product.id,
      unit_amount,
      currency,
      ...(interval ? { recurring: { interval } } : {}),
    });
  }
}

/**
 * The merchant's site: a tiny HTTP server whose pages stand for `success_url` and `cancel_url`,
 * so that landing there is observable. Every request is kept in `hits`.
 */
export async function startMerchant() {
  const hits = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, "http://merchant.invalid");
    hits.push({ method: req.method, path: url.pathname, query: Object.fromEntries(url.searchParams), url: req.url });
    const page = url.pathname === "/success" ? "merchant-success" : url.pathname === "/cancel" ? "merchant-cancel" : null;
    res.writeHead(page ? 200 : 404, { "Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store" });
    res.end(
      `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Shop</title>` +
        `<link rel="icon" href="data:,"></head>` +
        `<body><h1 data-testid="${page ?? "merchant-not-found"}">${page ?? "not found"}</h1></body></html>`,
    );
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${server.address().port}`;
  return {
    url,
    hits,
    successUrl: `${url}/success?session_id={CHECKOUT_SESSION_ID}`,
    cancelUrl: `${url}/cancel`,
    stop: () =>
      new Promise((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}

/**
 * A webhook receiver on a free port: it keeps every request's raw body and headers in `got` (for
 * `stripe.webhooks.constructEvent`) and answers 200. `waitFor(n)` resolves once `n` have arrived.
 */
export async function startReceiver() {
  const got = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      got.push({ headers: req.headers, body: Buffer.concat(chunks).toString("utf8") });
      res.writeHead(200, { "content-type": "text/plain" }).end("ok");
    });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${server.address().port}/webhooks`;
  /** Resolves once `n` requests have arrived (or rejects after `ms`). */
  const waitFor = (n, ms = 15_000) =>
    eventually(
      () => {
        assert.ok(got.length >= n, `only ${got.length} of ${n} webhooks arrived`);
        return got;
      },
      { timeout: ms },
    );
  return { url, got, waitFor, close: () => new Promise((r) => server.close(r)) };
}

/**
 * A `startReceiver` for this test file: started before its first test and closed after its last
 * (`r.receiver` once started).
 */
export function useReceiver() {
  const r = { receiver: null };
  before(async () => {
    r.receiver = await startReceiver();
  });
  after(async () => {
    await r.receiver?.close();
  });
  return r;
}

/**
 * Debian's Chromium through playwright-core, headless, with CHROMIUM_ARGS. Playwright gives it a
 * new, empty user-data-dir of its own (removed when it closes), so no profile carries over.
 * Every test file launches it through here; pages come from `openPage`.
 */
export async function browser() {
  return chromium.launch({ executablePath: chromiumPath(), headless: true, args: CHROMIUM_ARGS, timeout: 60_000 });
}

/** How Chromium words a CSP violation on the console ("… violates the following Content Security Policy …"). */
const CSP_MESSAGE = /Content[- ]Security[- ]Policy/i;

/** Runs in every page before its own scripts: hands each `securitypolicyviolation` to the harness. */
function reportCspViolations() {
  document.addEventListener(
    "securitypolicyviolation",
    (e) =>
      window.__kassaE2eCspViolation?.({
        directive: e.violatedDirective,
        blocked: e.blockedURI,
        where: `${e.sourceFile || e.documentURI}:${e.lineNumber}:${e.columnNumber}`,
        sample: e.sample,
        document: e.documentURI,
      }),
    true,
  );
}

/** Start keeping `page.requests` (every URL it asks for) and `page.problems` (see `openPage`). */
function watchPage(page) {
  if (page.problems) {
    return;
  }
  page.requests = [];
  page.problems = [];
  page.on("request", (r) => page.requests.push(r.url()));
  page.on("console", (m) => {
    if (CSP_MESSAGE.test(m.text())) {
      const { url, lineNumber } = m.location();
      page.problems.push(`CSP violation (console, ${url || page.url()}:${lineNumber}): ${m.text()}`);
    }
  });
  page.on("pageerror", (err) => {
    const kind = CSP_MESSAGE.test(err.message) ? "CSP violation (uncaught error)" : "uncaught error";
    page.problems.push(`${kind} on ${page.url()}: ${err.message}`);
  });
}

/**
 * A fresh browser context and page, as every test opens them. Each page of the context keeps
 * every request's URL in `page.requests`, and in `page.problems` what must fail the test: each
 * Content-Security-Policy violation (the `securitypolicyviolation` event, through an init script;
 * and Chromium's console message, which also comes with JavaScript off) and each uncaught error.
 * `options` go to `browser.newContext` (`{javaScriptEnabled: false}`, `{viewport}`).
 */
export async function openPage(chromiumBrowser, options = {}) {
  const context = await chromiumBrowser.newContext({ viewport: { width: 1024, height: 900 }, ...options });
  await context.exposeBinding("__kassaE2eCspViolation", ({ page }, v) => {
    watchPage(page);
    const sample = v.sample ? ` (${JSON.stringify(v.sample)})` : "";
    page.problems.push(
      `CSP violation (securitypolicyviolation) on ${v.document}: ${v.directive} blocked ${v.blocked || "?"} ` +
        `at ${v.where}${sample}`,
    );
  });
  await context.addInitScript(reportCspViolations);
  context.on("page", watchPage);
  const page = await context.newPage();
  watchPage(page);
  page.setDefaultTimeout(15_000);
  page.setDefaultNavigationTimeout(20_000);
  return page;
}

/**
 * What the `pages` (from `openPage`) reported, once every open one has passed on what it had
 * queued. Throws listing each problem, if there is any.
 */
export async function assertNoPageProblems(pages) {
  await Promise.all(pages.filter((p) => !p.isClosed()).map((p) => p.evaluate(() => 0).catch(() => {})));
  const problems = pages.flatMap((p) => p.problems ?? []);
  if (problems.length > 0) {
    const err = new Error(`the browser reported ${problems.length} problem(s):\n- ${problems.join("\n- ")}`);
    err.pageProblems = problems;
    throw err;
  }
}

/** Milliseconds each expensive step of the set-up took, for the report at the end of a file. */
export const timings = {};

async function timed(label, fn) {
  const t0 = performance.now();
  try {
    return await fn();
  } finally {
    timings[label] = Math.round(performance.now() - t0);
  }
}

/**
 * Set up this test file: kassa and the merchant stand-in before its first test, Chromium on the
 * first page a test opens; all stopped after its last test. Returns the harness; its fields are
 * filled once `before` has run.
 *
 * kassa must run from the first test to the last: a test fails as soon as the server ends under
 * it (whatever its exit code or signal), and the file fails unless the server exits 0 on the
 * SIGTERM after the last test.
 */
export function useKassa({ name = path.basename(process.argv[1] ?? "e2e", ".test.mjs") } = {}) {
  let launching = null;
  const h = {
    /** @type {Kassa} */ kassa: null,
    merchant: null,
    /** @type {import("playwright-core").Browser} */ browser: null,
    /** Contexts opened by the running test; closed after it. */
    contexts: [],

    /** Pages the running test opened (`openPage`), closed or not; their problems fail it. */
    pages: [],

    /** `openPage` in this file's Chromium; the page and its context are closed after the test. */
    async newPage(options = {}) {
      launching ??= timed("chromium launch", () => browser());
      h.browser = await launching;
      const page = await openPage(h.browser, options);
      h.contexts.push(page.context());
      h.pages.push(page);
      page.context().on("page", (p) => p !== page && h.pages.push(p));
      return page;
    },

    /**
     * Run `action` (a click, a key press) and wait for the form POST it sends to a path ending in
     * `pathEnd` (after redirects, the page is loaded). A POST that kassa refuses or does not know
     * (403, 404, 405, 5xx) fails at once with its answer, instead of a later wait timing out.
     * Returns the POST's response (a 303, or the page again with an error).
     */
    async formPost(page, pathEnd, action) {
      const [response] = await Promise.all([
        page.waitForResponse((r) => r.request().method() === "POST" && new URL(r.url()).pathname.endsWith(pathEnd)),
        action(),
      ]);
      const status = response.status();
      if ([403, 404, 405].includes(status) || status >= 500) {
        const body = await response.text().catch(() => "");
        const text = body
          .replace(/<[^>]*>/g, " ")
          .replace(/\s+/g, " ")
          .trim();
        throw new Error(
          `POST ${new URL(response.url()).pathname} answered ${status} (request headers: origin=` +
            `${response.request().headers().origin ?? "-"}): ${text.slice(0, 300)}`,
        );
      }
      await page.waitForLoadState();
      return response;
    },

    /** Click `submit-button` on `session`'s hosted page: the form POST's response (`formPost`). */
    submitPayment(page, session) {
      return h.formPost(page, `/pay/${session.id}`, () => byTestId(page, "submit-button").click());
    },

    /**
     * Open `session`'s hosted page, fill the card form (`fillCardForm`: `card` picks the number,
     * expiry, CVC, email and name) and submit it. Returns the page, wherever that led.
     */
    async payByCard(session, card = {}) {
      const page = await h.newPage();
      await page.goto(session.url);
      await fillCardForm(page, card);
      await h.submitPayment(page, session);
      return page;
    },

    /** Wait until `page` is on the merchant's success_url, with `session`'s id filled in. */
    async landOnSuccess(page, session) {
      await page.waitForURL((url) => url.href.startsWith(`${h.merchant.url}/success`), { timeout: 20_000 });
      const url = new URL(page.url());
      assert.equal(url.searchParams.get("session_id"), session.id, "{CHECKOUT_SESSION_ID} is replaced by the id");
      return url;
    },

    /**
     * A node:test test that fails the moment kassa ends under it (instead of timing out on a
     * request nobody answers), and if any page it opened violated its Content-Security-Policy or
     * threw an uncaught error (`openPage`). A failure leaves a screenshot of each of its open
     * pages in artifacts/failures/. Each test gets 90 s at most, so a hang never blocks CI.
     */
    test(title, fn, options = {}) {
      return nodeTest(title, { timeout: 90_000, ...options }, async (t) => {
        try {
          await (h.kassa ? h.kassa.process.guard(fn(t)) : fn(t));
          h.kassa?.check();
          await assertNoPageProblems(h.pages);
        } catch (err) {
          await screenshotOpenPages(h.contexts, slug(`${name}-${title}`));
          const problems = h.pages.flatMap((p) => p.problems ?? []);
          if (problems.length > 0 && err instanceof Error && !err.pageProblems) {
            err.message += `\n(the browser also reported:\n- ${problems.join("\n- ")})`;
          }
          throw await blameDeadProcess(h.kassa?.process, err);
        }
      });
    },
  };

  before(async () => {
    h.merchant = await startMerchant();
    h.kassa = await timed("kassa start", () => startKassa({ name }));
  });

  afterEach(async () => {
    h.pages = [];
    const open = h.contexts.splice(0);
    await Promise.all(open.map((c) => c.close().catch(() => {})));
  });

  after(async () => {
    try {
      await h.browser?.close().catch(() => {});
      await h.merchant?.stop();
      const parts = Object.entries(timings).map(([k, v]) => `${k} ${v} ms`);
      process.stdout.write(`# ${name}: ${parts.join(", ")}\n`);
    } finally {
      // Throws if kassa ended before now, or does not exit 0 on SIGTERM (SPEC §1).
      await h.kassa?.stop();
    }
  });

  return h;
}

/**
 * A test failed with `err`: if the process it depends on has ended (a request failing is often
 * the first sign of a crash; the exit arrives a moment later), the crash is the failure, with
 * `err` as its cause. Waits up to 1 s for the exit, on the failure path only.
 */
export async function blameDeadProcess(watched, err) {
  if (!watched || err?.process === watched) {
    return err;
  }
  let timer;
  await Promise.race([watched.exited, new Promise((resolve) => (timer = setTimeout(resolve, 1_000)))]);
  clearTimeout(timer);
  try {
    watched.check();
  } catch (died) {
    died.cause = err;
    return died;
  }
  return err;
}

async function screenshotOpenPages(contexts, base) {
  const dir = path.join(ARTIFACTS, "failures");
  await mkdir(dir, { recursive: true });
  let n = 0;
  for (const c of contexts) {
    for (const p of c.pages()) {
      n += 1;
      await p
        .screenshot({ path: path.join(dir, `${base}-${n}.png`), fullPage: true, timeout: 5_000 })
        .catch(() => {});
    }
  }
}

/** The amount in an English-formatted total such as "$43.50", "−$4.35" or "$1,043.50", in minor units, unsigned. */
export function minorUnits(text) {
  const m = /\d[\d,]*(?:\.\d+)?/.exec(text);
  if (!m) {
    throw new Error(`no amount in ${JSON.stringify(text)}`);
  }
  return Number(m[0].replace(/[.,]/g, ""));
}
