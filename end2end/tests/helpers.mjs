// Shared browser-test helpers: wait for the server, launch Debian's chromium through
// playwright-core (each launch gets a fresh temporary profile), and keep every request
// on this machine.
import { chromium } from 'playwright-core';

export const BASE = process.env.TOURSHERPA_URL ?? 'http://127.0.0.1:3000';

/** Polls until the API answers with at least `minEvents` events (the first refresh ran). */
export async function waitForServer(minEvents = 300, timeoutMs = 180_000) {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < deadline) {
    try {
      const r = await fetch(`${BASE}/api/v1/events?limit=1`);
      if (r.ok) {
        const body = await r.json();
        if (body.total >= minEvents) return body.total;
        last = `total ${body.total}`;
      } else {
        last = `status ${r.status}`;
      }
    } catch (e) {
      last = String(e.cause?.code ?? e.message);
    }
    await new Promise((res) => setTimeout(res, 500));
  }
  throw new Error(`server at ${BASE} not ready: ${last}`);
}

export async function launch() {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
  });
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  // Nothing leaves this machine: map tiles and anything else external are refused.
  await context.route('**/*', (route) => {
    const host = new URL(route.request().url()).hostname;
    return host === '127.0.0.1' || host === 'localhost' ? route.continue() : route.abort();
  });
  const errors = [];
  context.on('page', (page) => {
    page.on('pageerror', (e) => errors.push(String(e)));
  });
  return {
    browser,
    context,
    errors,
    async close() {
      await browser.close();
    },
  };
}
