// Browser tier for the planet in its own language (PLANET_LANG=de): the live script's words
// come from the page (the status, its readers, a new day's heading, local times, "new since
// your last visit", following a search), the keyboard help too; every page readable (contrast,
// light and dark) and nothing wider than a 390 px phone with the German words, which run
// longer. Its screenshot is docs/planet-de.png (ORRERY_SCREENSHOTS=docs; else
// target/screenshots/).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import path from "node:path";
import { launchChromium } from "../support/browser.mjs";
import { startWorker, startFeedServer, api, ROOT } from "../support/harness.mjs";
import { contrastProblems } from "../support/contrast.mjs";

const SHOTS = process.env.ORRERY_SCREENSHOTS === "docs" ? path.join(ROOT, "docs") : path.join(ROOT, "target", "screenshots");
const LOOK = {
  PLANET_LANG: "de",
  PLANET_NAME: "Planet Beispiel",
  PLANET_DESCRIPTION: "Was die Leute des Beispiel-Projekts schreiben",
  PLANET_ABOUT: "Planet Beispiel sammelt die Blogs der Menschen, die Beispiel machen.\n\nSie möchten aufgenommen werden? Schicken Sie einen Pull-Request.",
  PLANET_LINKS: "Beispiel-Projekt|https://example.org/,Verhaltenskodex|https://example.org/coc",
};
const MEMBERS = [
  ["Ada Lovelace", "#c2255c", ["Notizen zur Analytischen Maschine", "Poetische Wissenschaft, neu gelesen"]],
  ["Grace Hopper", "#1971c2", ["Eine Nanosekunde sind 30 Zentimeter", "Warum Compiler wichtig sind"]],
  ["Emmy Noether", "#2f9e44", ["Symmetrien und Erhaltungssätze", "Ringe, Ideale und ein Spaziergang"]],
  ["Konrad Zuse", "#e8590c", ["Die Z3, nachgebaut"]],
];
const PAGES = ["/", "/feeds", "/titles", "/search?q=Compiler", "/search"];

let w, fs, browser;
const members = [];

function escape(s) {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

before(async () => {
  [w, fs] = await Promise.all([startWorker({ vars: LOOK }), startFeedServer()]);
  browser = await launchChromium();
  // Posts of the last days, none today: the live script makes today's section itself.
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
      const at = new Date(now - (30 + k++ * 9) * 3_600_000).toUTCString();
      return `<item><guid>${slug}-${i}</guid><title>${t}</title><link>${f.url(`/posts/${i}`)}</link><pubDate>${at}</pubDate>
        <description>${escape(`<p>${t}: ${"Ein Absatz des Beitrags, damit die Seite etwas Text hat. ".repeat(3)}</p>`)}</description></item>`;
    });
    const feedPath = `/${slug}/feed.xml`;
    const rss = (extra = "") => `<?xml version="1.0"?><rss version="2.0"><channel><title>${name}</title><link>${f.url("/")}</link>${extra}${items.join("")}</channel></rss>`;
    f.set(feedPath, { body: rss() });
    const created = await api(w.url, "POST", "/api/feeds", { body: { url: f.url(feedPath) } });
    assert.equal(created.status, 201, created.text);
    const id = created.body.feed.id;
    await api(w.url, "PATCH", `/api/feeds/${id}`, { body: { display_name: name, face_url: f.url(`/faces/${slug}.svg`) } });
    members.push({ id, name, scope: f, feedPath, rss });
  }
  mkdirSync(SHOTS, { recursive: true });
});
after(async () => {
  await browser?.close();
  w?.stop();
  await fs?.close();
});

const live = (page) => page.waitForFunction(() => document.documentElement.dataset.live === "live", null, { timeout: 15000 });
const WEEKDAYS = ["Sonntag", "Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag"];
const MONTHS = ["Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September", "Oktober", "November", "Dezember"];

test("a live arrival speaks German: today's new heading, local times, the readers, the last visit", async () => {
  const m = members.find((x) => x.name === "Konrad Zuse");
  const ctx = await browser.newContext({ viewport: { width: 1100, height: 900 } });
  const page = await ctx.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(`${w.url}/`);
  await live(page);
  assert.equal(await page.getAttribute("html", "lang"), "de");
  assert.match(await page.textContent("#live-status"), /^live · (1 liest|[02-9]\d* lesen)$/);
  // Times in the reader's zone, written the German way ("07.12.2026, 18:20").
  assert.match(await page.textContent("#river article .meta time"), /^\d\d\.\d\d\.\d{4}, \d\d:\d\d$/);

  const now = new Date();
  const key = now.toISOString().slice(0, 10);
  assert.equal(await page.locator(`section.day[data-day="${key}"]`).count(), 0, "nothing today yet");
  m.scope.set(m.feedPath, {
    body: m.rss(`<item><guid>heute</guid><title>Heute geschrieben</title><link>${m.scope.url("/posts/heute")}</link><pubDate>${now.toUTCString()}</pubDate><description>neu</description></item>`),
  });
  const r = await api(w.url, "POST", `/api/feeds/${m.id}/refresh`);
  assert.equal(r.body.new_entries, 1, r.text);
  await page.waitForSelector(`#river > section.day[data-day="${key}"]:first-child article h3`, { timeout: 10000 });
  assert.equal(await page.textContent(`section.day[data-day="${key}"] .day-heading`),
    `${WEEKDAYS[now.getUTCDay()]}, ${now.getUTCDate()}. ${MONTHS[now.getUTCMonth()]} ${now.getUTCFullYear()}`);
  assert.match(await page.textContent(`section.day[data-day="${key}"] article .meta time`), /^\d\d\.\d\d\.\d{4}, \d\d:\d\d$/);

  // Closed, a post arrives, opened again: marked and counted in German.
  await page.close();
  const later = new Date(now.getTime() + 60_000);
  m.scope.set(m.feedPath, {
    body: m.rss(`<item><guid>heute-2</guid><title>Eine Minute später</title><link>${m.scope.url("/posts/heute-2")}</link><pubDate>${later.toUTCString()}</pubDate><description>neuer</description></item>
      <item><guid>heute</guid><title>Heute geschrieben</title><link>${m.scope.url("/posts/heute")}</link><pubDate>${now.toUTCString()}</pubDate><description>neu</description></item>`),
  });
  assert.equal((await api(w.url, "POST", `/api/feeds/${m.id}/refresh`)).body.new_entries, 1);
  const again = await ctx.newPage();
  again.on("pageerror", (e) => errors.push(e.message));
  await again.goto(`${w.url}/`);
  await live(again);
  await again.waitForSelector("#since-visit", { timeout: 15000 });
  assert.equal(await again.textContent("#since-visit"), "1 neuer Beitrag seit Ihrem letzten Besuch.");
  assert.match(await again.textContent("article.unseen .unseen-badge"), /^Neu seit Ihrem letzten Besuch$/);
  await again.close();
  await ctx.close();
  assert.deepEqual(errors, []);
});

test("following a search and the keyboard help speak German", async () => {
  const page = await browser.newPage();
  await page.goto(`${w.url}/search?q=Compiler`);
  await page.waitForSelector("#live-search:not([hidden])");
  assert.equal(await page.textContent("#follow-live"), "Dieser Suche live folgen");
  assert.match(await page.textContent("#live-search-note"), /^Sie folgen nicht/);
  await page.click("#follow-live");
  assert.equal(await page.textContent("#follow-live"), "Nicht mehr folgen");
  assert.match(await page.textContent("#live-search-note"), /^Neue passende Beiträge erscheinen hier/);
  await page.click("#follow-live");
  await page.$eval("#q", (i) => i.blur());
  await page.keyboard.press("?");
  await page.waitForSelector("dialog#keys-help[open]");
  assert.match(await page.textContent("dialog#keys-help"), /Tastenkürzel.*Nächster Beitrag.*Vorheriger Beitrag.*Schließen/s);
  await page.close();
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

test("in German every page is readable light and dark and fits a 390 px phone; the screenshot", async () => {
  const problems = [];
  for (const scheme of ["light", "dark"]) {
    const ctx = await browser.newContext({ viewport: { width: 1200, height: 860 }, colorScheme: scheme, reducedMotion: "reduce" });
    const page = await ctx.newPage();
    for (const p of PAGES) {
      await page.goto(`${w.url}${p}`);
      for (const x of await contrastProblems(page)) problems.push(`${scheme} ${p}: contrast ${x}`);
    }
    if (scheme === "light") {
      await page.goto(`${w.url}/`);
      await live(page);
      await page.evaluate(() => document.querySelectorAll('img[loading="lazy"]').forEach((i) => { i.loading = "eager"; }));
      await page.waitForFunction(() => [...document.images].every((i) => i.complete), null, { timeout: 15000 });
      await page.screenshot({ path: path.join(SHOTS, "planet-de.png") });
    }
    await ctx.close();
  }
  const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 1, isMobile: true, hasTouch: true });
  const page = await phone.newPage();
  for (const p of PAGES) {
    await page.goto(`${w.url}${p}`);
    const o = await overflow(page);
    if (o.scroll > o.width) problems.push(`${p} at 390 px: ${o.scroll} px wide: ${o.wide.join(", ")}`);
  }
  await phone.close();
  assert.deepEqual(problems, []);
});
