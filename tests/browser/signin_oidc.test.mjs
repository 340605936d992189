// Browser tier for signing in as yourself: in headless Chromium an admin presses "Sign in with
// <provider>" on the signed-out /admin, signs in and consents at a real OpenID provider
// (oidc-provider on `localhost`, the planet on 127.0.0.1: a cross-site flow, so the Strict
// session cookie must come from the callback's own page, not a redirect), adds a feed and signs
// out; the signed-out page is readable light and dark and fits a 390 px phone.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { launchChromium } from "../support/browser.mjs";
import { startWorker, startFeedServer, freePort } from "../support/harness.mjs";
import { startOidcProvider } from "../support/oidc_provider.mjs";
import { contrastProblems } from "../support/contrast.mjs";

let w, op, fs, browser;
before(async () => {
  const port = await freePort();
  op = await startOidcProvider({ redirectUri: `http://127.0.0.1:${port}/auth/oidc/callback` });
  fs = await startFeedServer();
  fs.set("/alpha.xml", { file: "e2e/alpha.xml" });
  w = await startWorker({
    port,
    vars: {
      OIDC_ISSUER: op.issuer, OIDC_CLIENT_ID: op.clientId, OIDC_CLIENT_SECRET: op.clientSecret,
      OIDC_NAME: "Example ID", ADMINS: "ada@example.org",
    },
  });
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  w?.stop();
  await op?.close();
  await fs?.close();
});

test("an admin signs in through the provider, adds a feed and signs out", async () => {
  const ctx = await browser.newContext({ viewport: { width: 1200, height: 860 } });
  const page = await ctx.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(`${w.url}/admin`);
  await Promise.all([
    page.waitForURL((u) => u.host === new URL(op.issuer).host),
    page.click('a:has-text("Sign in with Example ID")'),
  ]);
  await page.fill('input[name="login"]', "ada");
  await page.fill('input[name="password"]', "any");
  await Promise.all([page.waitForNavigation(), page.click('button:has-text("Sign-in")')]);
  // The provider asks for consent, then sends the browser back to the planet's callback, whose
  // page moves on to /admin with the new session.
  await Promise.all([
    page.waitForURL(`${w.url}/admin`, { timeout: 20000 }),
    page.click('button:has-text("Continue")'),
  ]);
  await page.waitForSelector('button:has-text("Add feed")');
  const cookies = await ctx.cookies(w.url + "/admin");
  const session = cookies.find((c) => c.name === "orrery_admin");
  assert.equal(session?.sameSite, "Strict");
  assert.ok(!(await ctx.cookies(w.url + "/auth")).some((c) => c.name === "orrery_signin"), "the state cookie is gone");

  await page.fill('input[name="url"]', fs.url("/alpha.xml"));
  await Promise.all([page.waitForURL((u) => u.pathname === "/admin"), page.click('button:has-text("Add feed")')]);
  assert.match(await page.textContent("p.flash"), /Added/);
  assert.match(await page.textContent("section.admins"), /ada@example\.org/);

  await Promise.all([page.waitForURL(`${w.url}/admin`), page.click('button:has-text("Sign out")')]);
  await page.waitForSelector('a:has-text("Sign in with Example ID")');
  const left = (await ctx.cookies([`${w.url}/admin`, `${w.url}/auth`])).filter((c) => c.name.startsWith("orrery_"));
  assert.deepEqual(left, [], "signing out clears every cookie");
  assert.deepEqual(errors, []);
  await ctx.close();
});

test("the signed-out page is readable light and dark, and fits a 390 px phone", async () => {
  const problems = [];
  for (const theme of ["default", "classic"]) {
    for (const scheme of ["light", "dark"]) {
      const ctx = await browser.newContext({ viewport: { width: 1200, height: 860 }, colorScheme: scheme });
      const page = await ctx.newPage();
      if (theme !== "default") {
        // The same page in the classic theme: its stylesheet swapped in, as THEME=classic serves it.
        await page.route("**/themes/default/theme.css", (r) => r.continue({ url: `${w.url}/themes/classic/theme.css` }));
      }
      await page.goto(`${w.url}/admin`);
      assert.ok(await page.isVisible('a:has-text("Sign in with Example ID")'));
      assert.ok(await page.isVisible('input[name="token"]'), "the token stays for operators");
      for (const x of await contrastProblems(page)) problems.push(`${theme} ${scheme}: contrast ${x}`);
      await ctx.close();
    }
  }
  const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  const page = await phone.newPage();
  await page.goto(`${w.url}/admin`);
  const o = await page.evaluate(() => {
    const width = document.documentElement.clientWidth;
    const wide = [...document.querySelectorAll("body *")]
      .filter((e) => e.getBoundingClientRect().right > width + 1)
      .slice(0, 5).map((e) => `<${e.tagName.toLowerCase()} class="${e.className}">`);
    return { scroll: document.documentElement.scrollWidth, width, wide };
  });
  if (o.scroll > o.width) problems.push(`at 390 px the page is ${o.scroll} px wide: ${o.wide.join(", ")}`);
  await phone.close();
  assert.deepEqual(problems, []);
});
