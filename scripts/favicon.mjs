// Makes assets/favicon.ico (16, 32 and 48 px PNGs in one ICO) from assets/favicon.svg with
// headless Chromium, so browsers that ask for /favicon.ico get it from the edge.
// Run: node scripts/favicon.mjs (after `scripts/setup.sh --browser`).
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const svg = readFileSync(path.join(ROOT, "assets/favicon.svg"), "utf8");
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_BIN || "/usr/bin/chromium", args: ["--no-sandbox"] });
const pngs = [];
for (const size of [16, 32, 48]) {
  const page = await browser.newPage({ viewport: { width: size, height: size } });
  await page.setContent(`<body style="margin:0">${svg.replace("<svg ", `<svg width="${size}" height="${size}" `)}</body>`);
  pngs.push([size, await page.screenshot({ omitBackground: true })]);
  await page.close();
}
await browser.close();
// ICONDIR, then one ICONDIRENTRY per image, then the PNGs.
const head = Buffer.alloc(6 + 16 * pngs.length);
head.writeUInt16LE(0, 0);
head.writeUInt16LE(1, 2);
head.writeUInt16LE(pngs.length, 4);
let offset = head.length;
pngs.forEach(([size, png], i) => {
  const at = 6 + 16 * i;
  head.writeUInt8(size % 256, at);
  head.writeUInt8(size % 256, at + 1);
  head.writeUInt16LE(1, at + 4); // planes
  head.writeUInt16LE(32, at + 6); // bits per pixel
  head.writeUInt32LE(png.length, at + 8);
  head.writeUInt32LE(offset, at + 12);
  offset += png.length;
});
writeFileSync(path.join(ROOT, "assets/favicon.ico"), Buffer.concat([head, ...pngs.map(([, p]) => p)]));
console.log(`assets/favicon.ico: ${offset} bytes`);
