// Browser tier for the classic planet page: the keyboard (j/k, o, /, ?), a new entry
// arriving into today's day section, nothing wider than a 390 px phone on any page,
// accessibility (one h1, landmarks, labelled fields, contrast of every visible text in
// both themes, light and dark), and the screenshots of both themes in docs/tour.md.
// ORRERY_SCREENSHOTS=docs writes the screenshots into docs/ (else into target/screenshots/).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import path from "node:path";
import { launchChromium } from "../support/browser.mjs";
import { startWorker, startFeedServer, api, ROOT } from "../support/harness.mjs";
import { contrastProblems } from "../support/contrast.mjs";

const SHOTS = process.env.ORRERY_SCREENSHOTS === "docs" ? path.join(ROOT, "docs") : path.join(ROOT, "target", "screenshots");
const LOOK = {
  PLANET_NAME: "Planet Example",
  PLANET_DESCRIPTION: "What the people of the Example project write",
  PLANET_ABOUT: "Planet Example collects the blogs of the people who make Example.\n\nWant to be listed? Open a pull request.",
  PLANET_LINKS: "Example project|https://example.org/,Code of conduct|https://example.org/coc,Add your blog|https://example.org/planet",
};
let w, fs, browser;
const members = [];

const MEMBERS = [
  ["Ada Lovelace", "#c2255c", ["Notes on the Analytical Engine", "Poetical science, revisited"]],
  ["Grace Hopper", "#1971c2", ["A nanosecond is 30 centimetres", "Why compilers matter"]],
  ["Alan Turing", "#2f9e44", ["Can machines think? A reading list", "Morphogenesis, with pictures"]],
  ["Katherine Johnson", "#e8590c", ["Orbits by hand", "Checking the computer's numbers"]],
  ["Edsger Dijkstra", "#6741d9", ["On the cruelty of really teaching computing science, again"]],
];

before(async () => {
  [w, fs] = await Promise.all([startWorker({ vars: LOOK }), startFeedServer()]);
  browser = await launchChromium();
  // The members of a small planet: posts today and yesterday, one with a long unbreakable
  // title, a wide <pre> and a wide table (what makes a phone page overflow).
  const now = Date.now();
  let k = 0;
  for (const [name, colour, titles] of MEMBERS) {
    const slug = name.toLowerCase().replace(/\W+/g, "-");
    const f = fs.scope();
    f.set(`/faces/${slug}.svg`, {
      type: "image/svg+xml",
      body: `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 48 48"><rect width="48" height="48" fill="${colour}"/><circle cx="24" cy="19" r="9" fill="#fff" opacity=".9"/><path d="M8 46c2-10 9-15 16-15s14 5 16 15z" fill="#fff" opacity=".9"/></svg>`,
    });
    const items = titles.map((t, i) => {
      // The last member last wrote three days ago (their page has no section for today).
      const hoursAgo = name === "Edsger Dijkstra" ? 72 + i : (k * 5 + i * 20) / 4;
      k += 1;
      const at = new Date(now - hoursAgo * 3_600_000).toUTCString();
      const long = name === "Alan Turing" && i === 1 ? `<pre>${"wide_code_line_without_any_breaks_".repeat(8)}</pre><table><tr>${"<td>a wide table cell</td>".repeat(12)}</tr></table>` : "";
      return `<item><guid>${slug}-${i}</guid><title>${t}</title><link>${f.url(`/posts/${i}`)}</link><pubDate>${at}</pubDate>
        <description>${escape(`<p>${t}: ${"A paragraph of the post, to give the river some body. ".repeat(3)}</p>${long}`)}</description></item>`;
    }).join("");
    const feedPath = `/${slug}/a-rather-long-path-to-the-feed-of-this-member/index.xml`;
    f.set(feedPath, { body: `<?xml version="1.0"?><rss version="2.0"><channel><title>${name}</title><link>${f.url("/")}</link>${items}</channel></rss>` });
    const created = await api(w.url, "POST", "/api/feeds", { body: { url: f.url(feedPath) } });
    assert.equal(created.status, 201, created.text);
    const id = created.body.feed.id;
    // Names and faces are set by an admin (PATCH /api/feeds/{id}, where the deployment has it).
    await api(w.url, "PATCH", `/api/feeds/${id}`, { body: { display_name: name, face_url: f.url(`/faces/${slug}.svg`) } });
    members.push({ id, name, scope: f, feedPath });
  }
  mkdirSync(SHOTS, { recursive: true });
});
after(async () => {
  await browser?.close();
  w?.stop();
  await fs?.close();
});

function escape(s) {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}


/** One h1, the landmarks, every form field with a name a screen reader reads out. */
async function a11yProblems(page) {
  return page.evaluate(() => {
    const out = [];
    const h1 = document.querySelectorAll("h1").length;
    if (h1 !== 1) out.push(`${h1} h1 elements`);
    for (const sel of ["body > header", "nav", "main", "body > footer"]) if (!document.querySelector(sel)) out.push(`no ${sel}`);
    for (const el of document.querySelectorAll("input:not([type=hidden]), select, textarea, button")) {
      const named = (el.labels && el.labels.length) || el.getAttribute("aria-label") || el.getAttribute("aria-labelledby")
        || (el.tagName === "BUTTON" && el.textContent.trim());
      if (!named) out.push(`unlabelled <${el.tagName.toLowerCase()} name="${el.name}">`);
    }
    for (const img of document.querySelectorAll("img:not([alt])")) out.push(`<img src="${img.src}"> without alt`);
    const ids = [...document.querySelectorAll("[id]")].map((e) => e.id);
    const dup = ids.filter((id, i) => ids.indexOf(id) !== i);
    if (dup.length) out.push(`duplicate ids ${dup}`);
    return out;
  });
}

async function overflow(page) {
  return page.evaluate(() => {
    const width = document.documentElement.clientWidth;
    const wide = [...document.querySelectorAll("body *")]
      .filter((e) => e.getBoundingClientRect().right > width + 1 && !e.closest("pre, .content table"))
      .slice(0, 5).map((e) => `<${e.tagName.toLowerCase()} class="${e.className}"> right=${Math.round(e.getBoundingClientRect().right)}`);
    return { scroll: document.documentElement.scrollWidth, width, wide };
  });
}

const PAGES = ["/", "/feeds", "/titles", "/search?q=paragraph", "/search"];

test("j/k walk the river, o opens the entry, / focuses search, ? shows the help", async () => {
  const page = await browser.newPage({ viewport: { width: 1100, height: 800 } });
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(`${w.url}/`);
  await page.waitForFunction(() => document.documentElement.dataset.live === "live", null, { timeout: 15000 });
  const ids = await page.$$eval("#river article.entry", (as) => as.map((a) => a.id));
  assert.ok(ids.length >= 5);
  const current = () => page.evaluate(() => ({ current: document.querySelector("article.current")?.id, focused: document.activeElement?.id }));
  await page.keyboard.press("j");
  assert.deepEqual(await current(), { current: ids[0], focused: ids[0] });
  await page.keyboard.press("j");
  await page.keyboard.press("j");
  assert.deepEqual(await current(), { current: ids[2], focused: ids[2] });
  await page.keyboard.press("k");
  assert.deepEqual(await current(), { current: ids[1], focused: ids[1] });
  // The current entry is visibly marked.
  const outline = await page.$eval(`#${ids[1]}`, (a) => getComputedStyle(a).outlineStyle);
  assert.equal(outline, "solid");
  // The help: a modal dialog, closed by Escape; keys do nothing while it is open.
  await page.keyboard.press("?");
  await page.waitForSelector("dialog#keys-help[open]");
  assert.match(await page.textContent("dialog#keys-help"), /Keyboard shortcuts.*Next entry.*Previous entry/s);
  await page.keyboard.press("j");
  assert.equal((await current()).current, ids[1]);
  await page.keyboard.press("Escape");
  await page.waitForSelector("dialog#keys-help:not([open])", { state: "attached" });
  // `/` focuses the search field, and typing there is typing, not navigating.
  await page.keyboard.press("/");
  assert.equal((await current()).focused, "site-q");
  await page.keyboard.type("jk");
  assert.equal(await page.inputValue("#site-q"), "jk");
  assert.equal((await current()).current, ids[1]);
  // `o` opens the current entry at its source.
  await page.$eval("#site-q", (i) => i.blur());
  const href = await page.getAttribute(`#${ids[1]} a.title`, "href");
  await Promise.all([page.waitForURL(href), page.keyboard.press("o")]);
  assert.deepEqual(errors, []);
  await page.close();
});

test("j/k walk the titles and the search results too", async () => {
  const page = await browser.newPage();
  for (const p of ["/titles", "/search?q=paragraph"]) {
    await page.goto(`${w.url}${p}`);
    await page.evaluate(() => document.activeElement?.blur()); // the search field has autofocus
    await page.keyboard.press("j");
    await page.keyboard.press("j");
    const at = await page.evaluate(() => {
      const items = [...document.querySelectorAll("main li[data-id]")];
      return items.indexOf(document.querySelector("main li.current"));
    });
    assert.equal(at, 1, p);
  }
  await page.close();
});

test("a new entry goes into today's day section, made when the page has none", async () => {
  const m = members.find((x) => x.name === "Edsger Dijkstra");
  const page = await browser.newPage();
  await page.goto(`${w.url}/feeds/${m.id}`);
  await page.waitForFunction(() => document.documentElement.dataset.live === "live", null, { timeout: 15000 });
  const now = new Date();
  const key = now.toISOString().slice(0, 10);
  assert.equal(await page.locator(`section.day[data-day="${key}"]`).count(), 0, "nothing today yet");
  const days = await page.locator("#river section.day").count();
  m.scope.set(m.feedPath, {
    body: `<?xml version="1.0"?><rss version="2.0"><channel><title>${m.name}</title><item><guid>today</guid><title>Written today</title>
      <link>${m.scope.url("/posts/today")}</link><pubDate>${now.toUTCString()}</pubDate><description>new</description></item></channel></rss>`,
  });
  const r = await api(w.url, "POST", `/api/feeds/${m.id}/refresh`);
  assert.equal(r.body.new_entries, 1);
  await page.waitForSelector(`#river > section.day[data-day="${key}"]:first-child article h3`, { timeout: 10000 });
  assert.match(await page.textContent(`section.day[data-day="${key}"] article h3`), /Written today/);
  assert.equal(await page.locator("#river section.day").count(), days + 1);
  // Its heading says the day as the server writes it.
  const label = now.toLocaleDateString("en-GB", { timeZone: "UTC", weekday: "long", day: "numeric", month: "long", year: "numeric" });
  assert.equal(await page.textContent(`section.day[data-day="${key}"] .day-heading`), label);
  // A second entry of the same day joins that section, at its top.
  const later = new Date(now.getTime() + 60_000);
  m.scope.set(m.feedPath, {
    body: `<?xml version="1.0"?><rss version="2.0"><channel><title>${m.name}</title><item><guid>today-2</guid><title>Written a minute later</title>
      <link>${m.scope.url("/posts/today-2")}</link><pubDate>${later.toUTCString()}</pubDate><description>newer</description></item></channel></rss>`,
  });
  assert.equal((await api(w.url, "POST", `/api/feeds/${m.id}/refresh`)).body.new_entries, 1);
  await page.waitForFunction((k) => document.querySelectorAll(`section.day[data-day="${k}"] article`).length === 2, key, { timeout: 10000 });
  assert.match(await page.textContent(`section.day[data-day="${key}"] article h3`), /a minute later/);
  assert.equal(await page.locator("#river section.day").count(), days + 1);
  await page.close();
});

/** Every image loaded (lazy ones below the fold too: they would never load unscrolled). */
async function imagesLoaded(page) {
  await page.evaluate(() => document.querySelectorAll('img[loading="lazy"]').forEach((i) => { i.loading = "eager"; }));
  await page.waitForFunction(() => [...document.images].every((i) => i.complete), null, { timeout: 15000 });
}

/** Checks every page at phone width and for accessibility; screenshots for docs/tour.md. */
async function lookAt(theme) {
  const problems = [];
  for (const scheme of ["light", "dark"]) {
    const ctx = await browser.newContext({ viewport: { width: 1200, height: 860 }, colorScheme: scheme, reducedMotion: "reduce" });
    const page = await ctx.newPage();
    for (const p of PAGES) {
      await page.goto(`${w.url}${p}`);
      for (const x of await a11yProblems(page)) problems.push(`${theme} ${p}: ${x}`);
      for (const x of await contrastProblems(page)) problems.push(`${theme} ${scheme} ${p}: contrast ${x}`);
    }
    await page.goto(`${w.url}/`);
    await page.waitForFunction(() => document.documentElement.dataset.live === "live", null, { timeout: 15000 });
    await imagesLoaded(page);
    await page.screenshot({ path: path.join(SHOTS, `planet-${theme}-${scheme}.png`) });
    await ctx.close();
  }
  const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 1, isMobile: true, hasTouch: true });
  const page = await phone.newPage();
  for (const p of PAGES) {
    await page.goto(`${w.url}${p}`);
    const o = await overflow(page);
    if (o.scroll > o.width) problems.push(`${theme} ${p} at 390 px: ${o.scroll} px wide: ${o.wide.join(", ")}`);
  }
  await page.goto(`${w.url}/`);
  await imagesLoaded(page);
  await page.screenshot({ path: path.join(SHOTS, `planet-${theme}-phone.png`) });
  await phone.close();
  return problems;
}

test("the default theme: accessible, readable light and dark, nothing overflows a phone", async () => {
  assert.deepEqual(await lookAt("default"), []);
});

test("the classic theme: accessible, readable light and dark, nothing overflows a phone", async () => {
  await w.restart({ vars: { THEME: "classic", PLANET_LOGO: "/themes/classic/logo.svg" } });
  assert.deepEqual(await lookAt("classic"), []);
});
