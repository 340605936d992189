// Browser tier for the sidebar's detail (SIDEBAR_DETAIL): each member's newest titles and its
// feed's trouble in words, shown in both themes, light and dark, readable (contrast of every
// text inside the sidebar), and nothing wider than a 390 px phone, where the sidebar sits below
// the river. Screenshots of the sidebar go to target/screenshots/ (ORRERY_SCREENSHOTS=docs: docs/).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import path from "node:path";
import { launchChromium } from "../support/browser.mjs";
import { startWorker, startFeedServer, api, until, ROOT } from "../support/harness.mjs";
import { contrastProblems } from "../support/contrast.mjs";

const SHOTS = process.env.ORRERY_SCREENSHOTS === "docs" ? path.join(ROOT, "docs") : path.join(ROOT, "target", "screenshots");
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
let w, fs, browser;
const ids = {};

function rss(name, items) {
  const esc = (s) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  return `<?xml version="1.0"?><rss version="2.0"><channel><title>${name}</title><link>http://example.com/</link>` +
    items.map(([title, at], i) => `<item><title>${esc(title)}</title><link>http://example.com/${i}</link><guid>${name}-${i}</guid>` +
      `<pubDate>${new Date(at).toUTCString()}</pubDate><description>A post.</description></item>`).join("") + "</channel></rss>";
}

before(async () => {
  // On in the default theme by the var; FAILING_AFTER=1: one failure makes a feed failing.
  [w, fs] = await Promise.all([
    startWorker({ vars: { SIDEBAR_DETAIL: "on", FAILING_AFTER: "1", PAUSED_AFTER: "5", PLANET_NAME: "Planet Example" } }),
    startFeedServer(),
  ]);
  browser = await launchChromium();
  const now = Date.now();
  const members = {
    writer: ["Ada Lovelace", [["Notes on the Analytical Engine", now - 5 * HOUR], ["Poetical science, revisited", now - 4 * HOUR],
      [`A title that runs on: ${"supercalifragilisticexpialidocious".repeat(3)} and &lt;em&gt;markup&lt;/em&gt; kept as text`, now - 3 * HOUR],
      ["Bernoulli numbers, step by step", now - 2 * HOUR]]],
    failing: ["Grace Hopper", [["A nanosecond is 30 centimetres", now - 6 * HOUR]]],
    quiet: ["Alan Turing", [["Can machines think? A reading list", now - 50 * DAY]]],
  };
  for (const [key, [name, items]] of Object.entries(members)) {
    const f = fs.scope();
    f.set("/feed.xml", { body: rss(name, items) });
    const r = await api(w.url, "POST", "/api/feeds", { body: { url: f.url("/feed.xml") } });
    assert.equal(r.status, 201, r.text);
    ids[key] = r.body.feed.id;
    await until(async () => (await api(w.url, "GET", `/api/feeds/${ids[key]}`)).body?.entry_count === items.length, { what: `${name} read` });
    if (key === "failing") {
      f.set("/feed.xml", { body: "<html><body>Not here</body></html>", type: "text/html" });
      assert.equal((await api(w.url, "POST", `/api/feeds/${ids[key]}/refresh`)).body.outcome, "failed");
    }
  }
  mkdirSync(SHOTS, { recursive: true });
});
after(async () => {
  await browser?.close();
  w?.stop();
  await fs?.close();
});

async function overflow(page) {
  return page.evaluate(() => {
    const width = document.documentElement.clientWidth;
    const wide = [...document.querySelectorAll("body *")]
      .filter((e) => e.getBoundingClientRect().right > width + 1 && !e.closest("pre, .content table"))
      .slice(0, 5).map((e) => `<${e.tagName.toLowerCase()} class="${e.className}"> right=${Math.round(e.getBoundingClientRect().right)}`);
    return { scroll: document.documentElement.scrollWidth, width, wide };
  });
}

/** What the sidebar shows of each member, as a reader sees it. */
function shown(page) {
  return page.evaluate((ids) => {
    const item = (id) => document.querySelector(`aside.sidebar li[data-feed="${id}"]`);
    const visible = (e) => !!e && e.getBoundingClientRect().height > 1 && getComputedStyle(e).visibility !== "hidden";
    const titles = (id) => [...item(id).querySelectorAll("ol.recent a")].map((a) => ({ text: a.textContent, href: a.getAttribute("href"), visible: visible(a) }));
    const note = (id) => { const n = item(id).querySelector(".member-note"); return n && visible(n) ? n.textContent : null; };
    return {
      writer: titles(ids.writer), failingNote: note(ids.failing), quietNote: note(ids.quiet),
      failingDot: item(ids.failing).querySelector(".dot").getAttribute("title"),
      writerNote: note(ids.writer),
    };
  }, ids);
}

async function lookAt(theme) {
  const problems = [];
  const check = async (page, where) => {
    const s = await shown(page);
    assert.equal(s.writer.length, 3, `${where}: three titles`);
    assert.ok(s.writer.every((t) => t.visible && /^\/entries\/\d+$/.test(t.href)), `${where}: ${JSON.stringify(s.writer)}`);
    assert.equal(s.writer[0].text, "Bernoulli numbers, step by step");
    assert.match(s.writer[1].text, /<em>markup<\/em> kept as text/, "a title's markup is text");
    assert.equal(s.failingNote, "feed unreadable for under an hour", where);
    assert.equal(s.failingDot, "failing: feed unreadable for under an hour");
    assert.equal(s.quietNote, "no new post in 50 days", where);
    assert.equal(s.writerNote, null);
    for (const x of await contrastProblems(page, { scope: "aside.sidebar" })) problems.push(`${where}: contrast ${x}`);
  };
  for (const scheme of ["light", "dark"]) {
    const ctx = await browser.newContext({ viewport: { width: 1200, height: 900 }, colorScheme: scheme, reducedMotion: "reduce" });
    const page = await ctx.newPage();
    for (const p of ["/", "/titles"]) {
      await page.goto(`${w.url}${p}`);
      await check(page, `${theme} ${scheme} ${p}`);
    }
    await page.goto(`${w.url}/`);
    await page.locator("aside.sidebar section.members").screenshot({ path: path.join(SHOTS, `sidebar-${theme}-${scheme}.png`) });
    await ctx.close();
    const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 1, isMobile: true, hasTouch: true, colorScheme: scheme });
    const small = await phone.newPage();
    for (const p of ["/", "/titles"]) {
      await small.goto(`${w.url}${p}`);
      await check(small, `${theme} ${scheme} ${p} at 390 px`);
      const o = await overflow(small);
      if (o.scroll > o.width) problems.push(`${theme} ${scheme} ${p} at 390 px: ${o.scroll} px wide: ${o.wide.join(", ")}`);
      // Each title is a tap target of a usable height (WCAG 2.5.8: 24 px, or spaced as much).
      const heights = await small.$$eval("aside.sidebar ol.recent li", (lis) => lis.map((li) => li.getBoundingClientRect().height));
      for (const h of heights) if (h < 24) problems.push(`${theme} ${scheme} ${p} at 390 px: a title's row is ${h} px high`);
    }
    if (scheme === "light") await small.locator("aside.sidebar section.members").screenshot({ path: path.join(SHOTS, `sidebar-${theme}-phone.png`) });
    await phone.close();
  }
  return problems;
}

test("the default theme with SIDEBAR_DETAIL=on: titles and notes shown, readable light and dark, nothing overflows a phone", async () => {
  assert.deepEqual(await lookAt("default"), []);
});

test("the classic theme, where it is on by default: the same", async () => {
  await w.restart({ vars: { THEME: "classic", SIDEBAR_DETAIL: "auto", PLANET_LOGO: "/themes/classic/logo.svg" } });
  assert.deepEqual(await lookAt("classic"), []);
});

test("the titles are reached by keyboard, in reading order after their member", async () => {
  const page = await browser.newPage();
  await page.goto(`${w.url}/`);
  const order = await page.evaluate((id) => {
    const item = document.querySelector(`aside.sidebar li[data-feed="${id}"]`);
    return [...item.querySelectorAll("a")].map((a) => a.className || a.getAttribute("href"));
  }, ids.writer);
  assert.deepEqual(order.slice(0, 2), ["member", "feed-link"]);
  assert.equal(order.length, 5);
  // Tab from the member's feed link lands on its newest title.
  await page.focus(`aside.sidebar li[data-feed="${ids.writer}"] a.feed-link`);
  await page.keyboard.press("Tab");
  assert.equal(await page.evaluate(() => document.activeElement.textContent), "Bernoulli numbers, step by step");
  await page.close();
});
