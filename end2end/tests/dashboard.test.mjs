// The dashboard in a real browser: charts in the first page, redrawn after a filter
// change without a page load, and a country bar that filters by its country.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, waitForServer, launch } from './helpers.mjs';

let b;

before(async () => {
  await waitForServer();
  b = await launch();
});

after(async () => {
  await b?.close();
});

const api = async (path) => (await fetch(`${BASE}${path}`)).json();
const total = (page) => page.locator('.count [data-total]').getAttribute('data-total').then(Number);

test('charts are in the first page and follow the filter; a country bar filters', async () => {
  const page = await b.context.newPage();
  const resp = await page.goto(`${BASE}/dashboard`);
  const html = await resp.text();
  assert.match(html, /<svg[^>]*viewBox="0 0 640 340"/, 'charts drawn by the server');
  assert.equal((html.match(/<svg/g) || []).length, 7, 'seven charts');
  const all = (await api('/api/v1/events?limit=1')).total;
  assert.equal(await total(page), all);
  // Hydrated: the country links (drawn by the server too) carry the click only once the
  // wasm has loaded and run; a click before that submits the form the plain way.
  await page.waitForFunction(() => document.querySelectorAll('#chart-countries .hotspot').length > 3);
  await page.waitForLoadState('networkidle');
  await page.evaluate(() => { window.__sameDocument = true; });

  const before = await page.locator('#chart-categories .chart-svg').innerHTML();
  await page.check('input[name=category][value=sports]');
  await page.click('form.filters button[type=submit]');
  await page.waitForURL(/category=sports/);
  const sports = (await api('/api/v1/stats/categories?category=sports')).items;
  await page.waitForFunction((n) => Number(document.querySelector('.count [data-total]')?.getAttribute('data-total')) === n, sports[0].count);
  assert.notEqual(await page.locator('#chart-categories .chart-svg').innerHTML(), before, 'redrawn');
  assert.equal(await page.evaluate(() => window.__sameDocument), true, 'no page load');

  const { items: countries } = await api('/api/v1/stats/countries?category=sports');
  const top = countries[0];
  await page.locator(`#chart-countries .hotspot[href*="country=${top.key}"]`).click();
  await page.waitForURL((u) => u.searchParams.get('country') === top.key && u.searchParams.getAll('category').includes('sports'));
  await page.waitForFunction((n) => Number(document.querySelector('.count [data-total]')?.getAttribute('data-total')) === n, top.count);
  assert.equal(await page.inputValue('input[name=country]'), top.key);
  assert.equal(await page.evaluate(() => window.__sameDocument), true, 'no page load');
  // The table view holds the same numbers.
  await page.click('#chart-countries summary');
  const rows = await page.locator('#chart-countries table tbody tr').count();
  assert.equal(rows, 1);
  assert.deepEqual(b.errors, []);
  await page.close();
});
