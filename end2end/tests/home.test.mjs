// The home page in a real browser: it hydrates, draws server-side clusters of the filtered
// set, keeps the list and the map in sync, and keeps every filter and the view in the URL.
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

const api = async (path) => (await fetch(`${BASE}${path}`)).json();

/**
 * Waits until the map has drawn the clusters of the filter `query` for its view: the
 * events it shows (data-events) are exactly the API's total for the same filter and box,
 * and every cluster has its marker. Returns that count.
 */
async function mapShows(page, query = '') {
  const deadline = Date.now() + 30_000;
  let last = 'nothing drawn';
  while (Date.now() < deadline) {
    const state = await page.evaluate(() => {
      const m = document.querySelector('.world-map[data-events]');
      return m && {
        events: Number(m.getAttribute('data-events')),
        clusters: Number(m.getAttribute('data-clusters')),
        bbox: m.getAttribute('data-bbox'),
        query: m.getAttribute('data-query'),
        markers: document.querySelectorAll('.cluster-pin, .event-pin').length,
      };
    });
    if (state) {
      const sep = query ? '&' : '';
      const want = (await api(`/api/v1/events?limit=1${sep}${query}&bbox=${state.bbox}`)).total;
      if (state.events === want && state.markers === state.clusters) return want;
      last = `${JSON.stringify(state)} but the API counts ${want}`;
    }
    await page.waitForTimeout(200);
  }
  throw new Error(`map never showed the filter "${query}": ${last}`);
}

const viewOf = (url) => new URL(url).searchParams.get('view');

test('the map hydrates and its clusters add up to the events in view', async () => {
  const page = await b.context.newPage();
  await page.goto(`${BASE}/`);
  const shown = await mapShows(page);
  assert.ok(shown >= total * 0.8, `${shown} of ${total} events in the world view`);
  const drawn = await page.locator('.cluster-pin, .event-pin').count();
  assert.ok(drawn > 5 && drawn < shown, `${drawn} markers for ${shown} events: clustered`);
  // The bundled country shapes are drawn without any tile server.
  await page.waitForFunction(() => document.querySelectorAll('.leaflet-overlay-pane path').length > 100);
  if (process.env.SCREENSHOT) await page.screenshot({ path: process.env.SCREENSHOT });
  assert.deepEqual(b.errors, []);
  await page.close();
});

test('clicking a cluster zooms in and the view goes into the URL', async () => {
  const page = await b.context.newPage();
  await page.goto(`${BASE}/`);
  await mapShows(page);
  // The biggest cluster.
  const counts = await page.locator('.cluster-pin span').allTextContents();
  const biggest = counts.map(Number).reduce((best, n, i, all) => (n > all[best] ? i : best), 0);
  await page.locator('.cluster-pin').nth(biggest).click();
  await page.waitForFunction(() => {
    const v = new URL(location.href).searchParams.get('view');
    return v && Number(v.split(',')[2]) >= 4;
  });
  const zoom = Number(viewOf(page.url()).split(',')[2]);
  assert.equal(zoom, 4, 'two levels in from the world view');
  await page.close();
});

test('an event pin opens a preview; selecting it marks the list and the URL', async () => {
  // An event alone at its place (several share the Palais in Cannes, for one).
  const { items } = await api('/api/v1/events?limit=30&country=FR');
  let ev;
  for (const e of items) {
    const box = `${e.lon - 0.02},${e.lat - 0.01},${e.lon + 0.02},${e.lat + 0.01}`;
    const { clusters } = await api(`/api/v1/map/clusters?zoom=15&country=FR&bbox=${box}`);
    if (clusters.some((c) => c.id === e.id)) { ev = e; break; }
  }
  assert.ok(ev, 'a French event alone at its place');
  const page = await b.context.newPage();
  await page.goto(`${BASE}/?country=FR&view=${ev.lat},${ev.lon},15`);
  await page.waitForSelector('.world-map[data-events]');
  const pin = page.locator(`.event-pin[title="${ev.title.replace(/"/g, '\\"')}"]`);
  await pin.waitFor({ timeout: 20_000 });
  await pin.click();
  const link = page.locator('.leaflet-popup a', { hasText: 'Open the event' });
  await link.waitFor({ timeout: 10_000 });
  await page.waitForURL((u) => u.searchParams.get('event') === ev.id);
  await page.waitForSelector(`.event-item.selected[data-id="${ev.id}"]`);
  const href = await link.getAttribute('href');
  assert.equal(href, `/events/${encodeURIComponent(ev.id)}`);
  await link.click();
  await page.waitForSelector('article.event h1');
  assert.equal(await page.locator('article.event h1').textContent(), ev.title);
  await page.close();
});

test('filter, share the URL, reopen it: the same view; back and forward work', async () => {
  const page = await b.context.newPage();
  await page.goto(`${BASE}/?view=45,10,3`);
  await mapShows(page);
  await page.evaluate(() => { window.__sameDocument = true; });
  await page.check('input[name=category][value=sports]');
  await page.check('input[name=category][value=concerts]');
  await page.fill('input[name=rank_min]', '40');
  await page.click('form.filters button[type=submit]');
  await page.waitForURL(/rank_min=40/);
  const want = await api('/api/v1/events?category=sports,concerts&rank_min=40&limit=1');
  assert.ok(want.total > 0 && want.total < total);
  await page.waitForSelector(`.results [data-total="${want.total}"]`);
  const filterQuery = 'category=sports,concerts&rank_min=40';
  await mapShows(page, filterQuery);
  assert.equal(await page.evaluate(() => window.__sameDocument), true, 'client-side navigation');
  assert.equal(viewOf(page.url()), '45,10,3', 'the view survives the filter change');

  const shared = page.url();
  const other = await b.context.newPage();
  await other.goto(shared);
  await other.waitForSelector(`.results [data-total="${want.total}"]`);
  await mapShows(other, filterQuery);
  assert.equal(await other.isChecked('input[name=category][value=sports]'), true);
  assert.equal(await other.isChecked('input[name=category][value=concerts]'), true);
  assert.equal(await other.isChecked('input[name=category][value=expos]'), false);
  assert.equal(await other.inputValue('input[name=rank_min]'), '40');
  const center = await other.evaluate(() => document.querySelector('.world-map').getAttribute('data-query'));
  assert.match(center, /rank_min=40/);
  assert.equal(viewOf(other.url()), '45,10,3');
  await other.close();

  await page.goBack();
  await page.waitForSelector(`.results [data-total="${total}"]`);
  await mapShows(page);
  await page.goForward();
  await page.waitForSelector(`.results [data-total="${want.total}"]`);
  await page.close();
});

test('list and map stay in sync, and the list can follow the map', async () => {
  const page = await b.context.newPage();
  await page.goto(`${BASE}/?view=48,10,4`);
  await mapShows(page);
  // Hovering a list item rings its place on the map.
  await page.locator('.event-item').first().hover();
  await page.waitForSelector('path.highlight-ring');
  // Hovering a pin marks its list item.
  const pin = page.locator('.event-pin').first();
  if (await pin.count()) {
    const title = await pin.getAttribute('title');
    const inList = await page.locator('.event-item .title', { hasText: title }).count();
    await pin.hover();
    if (inList) await page.waitForSelector('.event-item.hovered');
  }
  // Only the events in view.
  await page.check('input[name=follow]');
  await page.waitForURL((u) => u.searchParams.get('inview') === '1' && u.searchParams.get('bbox'));
  const bbox = new URL(page.url()).searchParams.get('bbox');
  const want = await api(`/api/v1/events?limit=1&bbox=${bbox}`);
  assert.ok(want.total < total, `${want.total} in view`);
  await page.waitForSelector(`.results [data-total="${want.total}"]`);
  await page.close();
});

test('a bad filter gets a clear message, not a broken page', async () => {
  const page = await b.context.newPage();
  await page.goto(`${BASE}/?rank_min=500`);
  const alert = page.locator('.error[role=alert]');
  await alert.waitFor();
  assert.match(await alert.textContent(), /rank_min/);
  await page.close();
});

test('unknown pages answer 404 with a page', async () => {
  const page = await b.context.newPage();
  const resp = await page.goto(`${BASE}/no/such/page`);
  assert.equal(resp.status(), 404);
  assert.ok(await page.locator('h1', { hasText: 'Page not found' }).count());
  await page.close();
});
