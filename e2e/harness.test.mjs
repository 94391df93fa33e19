// The harness itself, which the other files trust to fail: a kassa that ends under the tests
// (killed by a signal, or exiting at all) and one that does not exit 0 when asked to stop must be
// reported as failures, not passed over; so must a page that violates its Content-Security-Policy.

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { test } from "node:test";
import {
  assertNoPageProblems,
  blameDeadProcess,
  browser,
  eventually,
  exitProblem,
  openPage,
  startKassa,
  Watched,
} from "./harness.mjs";

test("exitProblem: any end nobody asked for fails; asked to stop, only exit code 0 passes", () => {
  const ends = [
    { code: 0, signal: null },
    { code: 1, signal: null },
    { code: null, signal: "SIGSEGV" },
    { code: null, signal: "SIGKILL" },
    { code: null, signal: "SIGTERM" },
  ];
  assert.equal(exitProblem("kassa", null, { stopping: false }), null, "still running is fine");
  for (const exit of ends) {
    assert.match(exitProblem("kassa", exit, { stopping: false }) ?? "", /^kassa ended while the tests ran/);
  }
  assert.equal(exitProblem("kassa", ends[0], { stopping: true }), null, "exit 0 when asked");
  for (const exit of ends.slice(1)) {
    assert.match(exitProblem("kassa", exit, { stopping: true }) ?? "", /when asked to stop \(SPEC §1: exit 0\)/);
  }
  assert.match(exitProblem("kassa", ends[2], { stopping: false }), /signal SIGSEGV/);
  assert.match(exitProblem("kassa", ends[1], { stopping: true }), /exit code 1/);
});

test("kassa stopped with SIGTERM exits 0, and stop() says so", async () => {
  const kassa = await startKassa({ name: "harness" });
  kassa.check();
  assert.deepEqual(await kassa.stop(), { code: 0, signal: null });
});

test("a kassa killed with SIGKILL is noticed: by a waiting test, by check(), by stop()", async () => {
  const kassa = await startKassa({ name: "harness" });
  // A test waiting for something that will never come now that kassa is gone.
  const waiting = kassa.process.guard(new Promise(() => {}));
  kassa.process.child.kill("SIGKILL");
  await assert.rejects(
    waiting,
    /^Error: kassa serve \(harness, pid \d+\) ended while the tests ran \(signal SIGKILL\)/,
  );
  assert.throws(() => kassa.check(), /signal SIGKILL/);
  // A request that fails because kassa is gone is blamed on kassa, with the request's error kept.
  const failed = await kassa.api("GET", "/v1/products").catch((err) => err);
  const blamed = await blameDeadProcess(kassa.process, failed);
  assert.match(blamed.message, /ended while the tests ran \(signal SIGKILL\)/);
  assert.equal(blamed.cause, failed);
  await assert.rejects(kassa.stop(), /ended while the tests ran \(signal SIGKILL\)/, "the after hook fails too");
});

/** A stand-in process that prints "ready" and then does what `script` says on SIGTERM. */
async function standIn(script) {
  const child = spawn(process.execPath, ["-e", `${script}; setInterval(() => {}, 1000); console.log("ready")`], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const watched = new Watched(child, "stand-in");
  let out = "";
  child.stdout.on("data", (d) => (out += d));
  await eventually(() => assert.match(out, /ready/));
  return watched;
}

test("a process that exits non-zero, or dies of the signal, when asked to stop fails stop()", async () => {
  const exits3 = await standIn(`process.on("SIGTERM", () => process.exit(3))`);
  await assert.rejects(exits3.stop(), /stand-in ended with exit code 3 when asked to stop/);
  const dies = await standIn("");
  await assert.rejects(dies.stop(), /stand-in ended with signal SIGTERM when asked to stop/);
  const clean = await standIn(`process.on("SIGINT", () => process.exit(0))`);
  assert.deepEqual(await clean.stop("SIGINT"), { code: 0, signal: null });
});

test("a process that ends by itself, even with exit code 0, fails a test that was running", async () => {
  const watched = await standIn(`setTimeout(() => process.exit(0), 10)`);
  await assert.rejects(watched.guard(new Promise(() => {})), /stand-in ended while the tests ran \(exit code 0\)/);
  assert.throws(() => watched.check(), /ended while the tests ran/);
});

/**
 * A page at http://csp.invalid/ (answered by Playwright, never the network) under
 * `default-src 'none'; script-src 'self'`, with `body` as its HTML and /eval.js calling eval.
 */
async function pageUnderCsp(chromium, body, options = {}) {
  const page = await openPage(chromium, options);
  await page.route("http://csp.invalid/**", (route) => {
    const { pathname } = new URL(route.request().url());
    if (pathname === "/") {
      const csp = "default-src 'none'; script-src 'self'";
      return route.fulfill({ contentType: "text/html", headers: { "content-security-policy": csp }, body });
    }
    if (pathname === "/eval.js") {
      return route.fulfill({ contentType: "text/javascript", body: "eval('1')" });
    }
    return route.fulfill({ status: 404, body: "" });
  });
  await page.goto("http://csp.invalid/");
  return page;
}

test("openPage reports every CSP violation, with JavaScript on or off, and a page without any passes", async () => {
  const chromium = await browser();
  try {
    const html =
      `<!doctype html><title>t</title><p style="color: red">inline style</p>` +
      `<script>document.title = "inline script"</script><img src="/x.png" alt=""><script src="/eval.js"></script>`;
    const page = await pageUnderCsp(chromium, html);
    // The event is handed over asynchronously: wait for it, not for a time.
    await eventually(() => assert.ok(page.problems.some((p) => p.includes("script-src") && p.includes("eval"))));
    await assert.rejects(assertNoPageProblems([page]), (err) => {
      const text = err.message;
      for (const what of [
        /securitypolicyviolation\) on http:\/\/csp\.invalid\/: style-src-attr blocked inline/,
        /securitypolicyviolation\) on http:\/\/csp\.invalid\/: script-src-elem blocked inline/,
        /securitypolicyviolation\) on http:\/\/csp\.invalid\/: img-src blocked http:\/\/csp\.invalid\/x\.png/,
        /CSP violation \(console, .*\): Loading the image 'http:\/\/csp\.invalid\/x\.png' violates/,
        /CSP violation \(uncaught error\) on http:\/\/csp\.invalid\/: .*'unsafe-eval'/,
      ]) {
        assert.match(text, what);
      }
      return true;
    });

    // Without JavaScript no event can be listened for; Chromium's console still says it.
    const noJs = await pageUnderCsp(chromium, html, { javaScriptEnabled: false });
    await eventually(() => assert.ok(noJs.problems.some((p) => p.includes("x.png"))));
    await assert.rejects(assertNoPageProblems([noJs]), /CSP violation \(console, .*inline style/);

    const clean = await pageUnderCsp(chromium, `<!doctype html><title>t</title><p>nothing inline</p>`);
    await assertNoPageProblems([clean]);
    assert.deepEqual(clean.problems, []);
  } finally {
    await chromium.close();
  }
});
