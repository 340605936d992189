// Headless Chromium for the browser tests: Debian's `chromium` (scripts/setup.sh --browser
// installs it; CHROMIUM_BIN points elsewhere), driven by playwright-core, loopback only.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { chromium } from "playwright-core";

export const CHROMIUM = process.env.CHROMIUM_BIN || "/usr/bin/chromium";

/** Launches it, or fails saying how to install it. */
export function launchChromium() {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: run scripts/setup.sh --browser`);
  return chromium.launch({
    executablePath: CHROMIUM, headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
}
