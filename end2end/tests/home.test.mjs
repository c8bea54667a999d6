// The home page in a real browser: it hydrates, draws a marker per event on the map,
// and its interactions (marker popups, client-side filtering) work.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, waitForServer, launch } from './helpers.mjs';

let b;
let total;

before(async () => {
  total = await waitForServer();
  b = await launch();
});

after(async () => {
  await b?.close();
});

test('the map hydrates and shows a marker for every event', async () => {
  const page = await b.context.newPage();
  await page.goto(`${BASE}/`);
  // data-markers is written by the wasm after hydration, so its presence proves hydration.
  await page.waitForSelector('.world-map[data-markers]', { timeout: 30_000 });
  const markers = await page.locator('path.event-marker').count();
  assert.ok(markers >= 300, `${markers} markers`);
  assert.equal(markers, Math.min(total, 5000));
  // The bundled country shapes are drawn without any tile server.
  await page.waitForFunction((n) => document.querySelectorAll('.leaflet-overlay-pane path').length > n + 100, markers);
  if (process.env.SCREENSHOT) await page.screenshot({ path: process.env.SCREENSHOT });
  assert.deepEqual(b.errors, []);
  await page.close();
});

test('clicking a marker opens a preview that links to the event page', async () => {
  const page = await b.context.newPage();
  await page.goto(`${BASE}/`);
  await page.waitForSelector('.world-map[data-markers]');
  await page.locator('path.event-marker').first().dispatchEvent('click');
  const link = page.locator('.leaflet-popup a', { hasText: 'Open the event' });
  await link.waitFor({ timeout: 10_000 });
  const href = await link.getAttribute('href');
  assert.match(href, /^\/events\//);
  await link.click();
  await page.waitForURL(`**${href}`);
  await page.waitForSelector('article.event h1');
  assert.ok((await page.locator('h2', { hasText: 'Nearest airports' }).count()) === 1);
  await page.close();
});

test('filtering by category narrows map and list without a full reload', async () => {
  const page = await b.context.newPage();
  await page.goto(`${BASE}/`);
  await page.waitForSelector('.world-map[data-markers]');
  await page.evaluate(() => { window.__sameDocument = true; });
  await page.selectOption('select[name=category]', 'sports');
  await page.click('form.filters button[type=submit]');
  await page.waitForURL(/category=sports/);
  const api = await (await fetch(`${BASE}/api/v1/events?category=sports&limit=1`)).json();
  assert.ok(api.total > 0 && api.total < total);
  await page.waitForFunction((n) => {
    const m = document.querySelector('.world-map[data-markers]');
    return m && Number(m.getAttribute('data-markers')) === n &&
      document.querySelectorAll('path.event-marker').length === n &&
      Number(document.querySelector('.results [data-total]')?.getAttribute('data-total')) === n;
  }, api.total);
  const shown = Number(await page.locator('.results [data-total]').getAttribute('data-total'));
  assert.equal(shown, api.total);
  const markers = Number(await page.locator('.world-map').getAttribute('data-markers'));
  assert.equal(markers, api.total);
  assert.ok(api.total < total);
  assert.equal(await page.evaluate(() => window.__sameDocument), true, 'client-side navigation');
  await page.close();
});

test('unknown pages answer 404 with a page', async () => {
  const page = await b.context.newPage();
  const resp = await page.goto(`${BASE}/no/such/page`);
  assert.equal(resp.status(), 404);
  assert.ok(await page.locator('h1', { hasText: 'Page not found' }).count());
  await page.close();
});
