// Time until the home page is interactive in chromium: from navigation start until the
// map has hydrated and drawn the clusters of the whole store (the wasm writes
// data-events on the map once it has). Run from end2end/, where playwright-core is.
import { createRequire } from 'node:module';

const { chromium } = createRequire(`${process.cwd()}/`)('playwright-core');

const BASE = process.env.TOURSHERPA_URL ?? 'http://127.0.0.1:3000';
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu'],
});
const total = (await (await fetch(`${BASE}/api/v1/events?limit=1`)).json()).total;
const runs = [];
for (let i = 0; i < 6; i++) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  await context.route('**/*', (route) => {
    const host = new URL(route.request().url()).hostname;
    return host === '127.0.0.1' || host === 'localhost' ? route.continue() : route.abort();
  });
  const page = await context.newPage();
  const t0 = Date.now();
  await page.goto(`${BASE}/`);
  // Drawn: the map shows the clusters of its view (the world view holds most events).
  await page.waitForFunction(() => Number(document.querySelector('.world-map')?.getAttribute('data-events')) > 0, null, { timeout: 30_000 });
  const ms = Date.now() - t0;
  if (i > 0) runs.push(ms); // the first run warms the server's caches
  await context.close();
}
await browser.close();
runs.sort((a, b) => a - b);
console.log(`home interactive, store of ${total} events: median ${runs[Math.floor(runs.length / 2)]} ms, worst ${runs[runs.length - 1]} ms over ${runs.length} loads`);
