// Time for the dashboard to redraw after a filter change in chromium: from the click
// until every chart shows the new filter's numbers (the event count on the page equals
// the API's count for the new filter and all seven charts are on the page), with no page
// load in between. Run from end2end/, where playwright-core is.
import { createRequire } from 'node:module';

const { chromium } = createRequire(`${process.cwd()}/`)('playwright-core');

const BASE = process.env.TOURSHERPA_URL ?? 'http://127.0.0.1:3000';
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu'],
});
const api = async (path) => (await fetch(`${BASE}${path}`)).json();
const count = async (query) => {
  const items = (await api(`/api/v1/stats/categories${query}`)).items;
  return items.reduce((n, c) => n + c.count, 0);
};

const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
await context.route('**/*', (route) => {
  const host = new URL(route.request().url()).hostname;
  return host === '127.0.0.1' || host === 'localhost' ? route.continue() : route.abort();
});
const page = await context.newPage();
const t0 = Date.now();
await page.goto(`${BASE}/dashboard`);
await page.waitForFunction(() => document.querySelectorAll('#chart-countries .hotspot').length > 3, null, { timeout: 60_000 });
console.log(`dashboard first load until hydrated: ${Date.now() - t0} ms`);
await page.evaluate(() => { window.__sameDocument = true; });

const settled = (n) => page.waitForFunction(
  (n) => Number(document.querySelector('.count [data-total]')?.getAttribute('data-total')) === n
    && document.querySelectorAll('.chart-svg svg').length === 7,
  n, { timeout: 30_000 });

const runs = [];
const categories = ['sports', 'concerts', 'festivals', 'expos', 'conferences'];
for (const category of categories) {
  // Category checkbox and submit: every chart follows.
  await page.goto(`${BASE}/dashboard`);
  await page.waitForFunction(() => document.querySelectorAll('#chart-countries .hotspot').length > 3, null, { timeout: 60_000 });
  await page.evaluate(() => { window.__sameDocument = true; });
  const want = await count(`?category=${category}`);
  await page.check(`input[name=category][value=${category}]`);
  let t = Date.now();
  await page.click('form.filters button[type=submit]');
  await settled(want);
  runs.push(['category', Date.now() - t]);
  // Then a country bar: filtered by category and country.
  const top = (await api(`/api/v1/stats/countries?category=${category}`)).items[0];
  const both = await count(`?category=${category}&country=${top.key}`);
  t = Date.now();
  await page.locator(`#chart-countries .hotspot[href*="country=${top.key}"]`).click();
  await settled(both);
  runs.push(['country bar', Date.now() - t]);
  // And a filter the rollups cannot answer: a minimum rank.
  await page.fill('input[name=rank_min]', '60');
  const ranked = await count(`?category=${category}&country=${top.key}&rank_min=60`);
  t = Date.now();
  await page.click('form.filters button[type=submit]');
  await settled(ranked);
  runs.push(['rank filter', Date.now() - t]);
  if (!(await page.evaluate(() => window.__sameDocument))) throw new Error('the page reloaded');
}
await browser.close();
const total = await count('');
for (const kind of ['category', 'country bar', 'rank filter']) {
  const ms = runs.filter(([k]) => k === kind).map(([, v]) => v).sort((a, b) => a - b);
  console.log(`redraw after ${kind.padEnd(12)} (${total} events): median ${ms[Math.floor(ms.length / 2)]} ms, worst ${ms[ms.length - 1]} ms over ${ms.length}`);
}
