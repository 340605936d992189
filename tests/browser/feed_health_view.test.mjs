// Browser tier for the admin's feed-health view (/admin/health, issue 21): an admin signs in,
// follows the link from /admin, reads the worst feeds first with their error in words, presses
// "Retry now" on a feed whose publisher has mended it and sees the row turn healthy; the view
// is readable light and dark (contrast of every visible text) and nothing overflows a 390 px
// phone. Its screenshot is docs/admin-feed-health.png (ORRERY_SCREENSHOTS=docs; else
// target/screenshots/).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import path from "node:path";
import { launchChromium } from "../support/browser.mjs";
import { startWorker, startFeedServer, api, ADMIN_TOKEN, ROOT } from "../support/harness.mjs";
import { contrastProblems } from "../support/contrast.mjs";

const SHOTS = process.env.ORRERY_SCREENSHOTS === "docs" ? path.join(ROOT, "docs") : path.join(ROOT, "target", "screenshots");
let w, fs, browser;
const feeds = {};

async function subscribe(f, p, spec, name) {
  f.set(p, spec);
  const r = await api(w.url, "POST", "/api/feeds", { body: { url: f.url(p) } });
  assert.equal(r.status, 201, r.text);
  const id = r.body.feed.id;
  await api(w.url, "PATCH", `/api/feeds/${id}`, { body: { display_name: name } });
  return id;
}

before(async () => {
  [w, fs] = await Promise.all([startWorker({ vars: { PLANET_NAME: "Planet Example" } }), startFeedServer()]);
  browser = await launchChromium();
  const f = fs.scope();
  feeds.ok = await subscribe(f, "/ok.xml", { file: "e2e/alpha.xml", etag: true }, "Ada Lovelace");
  feeds.mended = await subscribe(f, "/mended.atom", { file: "e2e/beta.atom" }, "Grace Hopper");
  feeds.gone = await subscribe(f, "/gone.xml", { file: "e2e/alpha.xml" }, "Alan Turing");
  // Grace's server fails three times in a row (failing); Alan's says the feed is gone for good.
  f.set("/mended.atom", { status: 500, body: "oops" });
  for (let i = 0; i < 3; i++) await api(w.url, "POST", `/api/feeds/${feeds.mended}/refresh`);
  f.set("/gone.xml", { status: 410, body: "gone" });
  await api(w.url, "POST", `/api/feeds/${feeds.gone}/refresh`);
  // Then Grace's server is mended: only a retry will find out before the next scheduled fetch.
  f.set("/mended.atom", { file: "e2e/beta.atom" });
  mkdirSync(SHOTS, { recursive: true });
});
after(async () => {
  await browser?.close();
  w?.stop();
  await fs?.close();
});

async function signIn(page) {
  await page.goto(`${w.url}/admin`);
  await page.fill('input[name="token"]', ADMIN_TOKEN);
  await Promise.all([page.waitForURL(`${w.url}/admin`), page.press('input[name="token"]', "Enter")]);
}

const rows = (page) => page.$$eval("table.health tr[data-feed]", (trs) => trs.map((tr) => ({
  id: Number(tr.dataset.feed), status: tr.dataset.status, text: tr.textContent.replace(/\s+/g, " ").trim(),
})));

test("an admin finds the worst feeds first, reads why, retries a mended one and sees it healthy", async () => {
  const ctx = await browser.newContext({ viewport: { width: 1200, height: 860 } });
  const page = await ctx.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await signIn(page);
  await Promise.all([page.waitForURL(`${w.url}/admin/health`), page.click('a[href="/admin/health"]')]);
  const before = await rows(page);
  assert.deepEqual(before.map((r) => r.id).slice(-1), [feeds.ok], "the healthy feed comes last");
  assert.deepEqual(new Set(before.slice(0, 2).map((r) => r.id)), new Set([feeds.mended, feeds.gone]));
  const mended = before.find((r) => r.id === feeds.mended);
  assert.equal(mended.status, "failing");
  assert.match(mended.text, /3 failed in a row/);
  assert.match(mended.text, /500/, "the error in words names the status");
  assert.match(before.find((r) => r.id === feeds.gone).text, /gone|410/i);
  await page.screenshot({ path: path.join(SHOTS, "admin-feed-health.png") });

  // "Retry now" on Grace's row: the page comes back with the row healthy.
  await Promise.all([
    page.waitForURL((u) => u.pathname.startsWith("/admin")),
    page.click(`tr[data-feed="${feeds.mended}"] button:has-text("Retry now")`),
  ]);
  await page.goto(`${w.url}/admin/health`);
  const after = await rows(page);
  const row = after.find((r) => r.id === feeds.mended);
  assert.notEqual(row.status, "failing", row.text);
  assert.doesNotMatch(row.text, /failed in a row/);
  assert.equal(after[0].id, feeds.gone, "the gone feed is now the worst");
  assert.deepEqual(errors, []);
  await ctx.close();
});

test("the view is readable light and dark, and fits a 390 px phone", async () => {
  const problems = [];
  for (const scheme of ["light", "dark"]) {
    const ctx = await browser.newContext({ viewport: { width: 1200, height: 860 }, colorScheme: scheme });
    const page = await ctx.newPage();
    await signIn(page);
    await page.goto(`${w.url}/admin/health`);
    for (const x of await contrastProblems(page)) problems.push(`${scheme}: contrast ${x}`);
    await ctx.close();
  }
  const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  const page = await phone.newPage();
  await signIn(page);
  await page.goto(`${w.url}/admin/health`);
  const o = await page.evaluate(() => {
    const width = document.documentElement.clientWidth;
    const wide = [...document.querySelectorAll("body *")]
      .filter((e) => e.getBoundingClientRect().right > width + 1 && !e.closest(".scroll"))
      .slice(0, 5).map((e) => `<${e.tagName.toLowerCase()} class="${e.className}">`);
    return { scroll: document.documentElement.scrollWidth, width, wide };
  });
  if (o.scroll > o.width) problems.push(`at 390 px the page is ${o.scroll} px wide: ${o.wide.join(", ")}`);
  await phone.close();
  assert.deepEqual(problems, []);
});
