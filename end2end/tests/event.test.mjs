// The event page (the trip bundle) in a real browser: every part, the origin picker, a
// page whose parts are missing, and provider text that holds HTML.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
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

test('the event page shows every part of the trip bundle', async () => {
  const { items: [ev] } = await api('/api/v1/events?limit=1&country=FR');
  // A viewer in Tokyo: the page shows the start in their time as well.
  const context = await b.browser.newContext({ viewport: { width: 1280, height: 860 }, timezoneId: 'Asia/Tokyo' });
  const page = await context.newPage();
  page.on('pageerror', (e) => b.errors.push(String(e)));
  await page.goto(`${BASE}/events/${encodeURIComponent(ev.id)}`);
  await page.waitForSelector('.places-map[data-pins]', { timeout: 30_000 });
  for (const heading of ['When visitors come', 'Restaurants nearby', 'Cafés nearby', 'Places to stay',
    'Nearest airports', 'Flights', 'Estimated trip cost']) {
    assert.equal(await page.locator('h2', { hasText: heading }).count(), 1, heading);
  }
  assert.ok(await page.locator('.demand-days tbody tr').count() >= 4);
  assert.ok(await page.locator('.restaurants li').count() > 0);
  assert.ok(await page.locator('.outbound tbody tr').count() > 0);
  assert.ok(await page.locator('.return tbody tr').count() > 0);
  assert.match(await page.locator('.estimate .total').textContent(), /USD [\d,]+/);
  assert.ok(await page.locator('.estimate-tag').count(), 'the estimate is labelled');
  assert.ok(await page.locator('.demo-banner').count(), 'demo data is labelled');
  const pins = Number(await page.locator('.places-map').getAttribute('data-pins'));
  assert.ok(pins > 3, `${pins} pins`);
  // The viewer's time is written by the browser, from the UTC instant.
  await page.waitForFunction(() => /GMT\+9/.test(document.querySelector('time.viewer-time')?.textContent ?? ''));
  assert.ok(await page.locator('a[href$="/calendar.ics"]').count(), 'add to calendar');
  assert.deepEqual(b.errors, []);
  await context.close();
});

test('the origin picker changes the flight offers and is remembered', async () => {
  const { items: [ev] } = await api('/api/v1/events?limit=1&country=DE');
  const page = await b.context.newPage();
  await page.goto(`${BASE}/events/${encodeURIComponent(ev.id)}`);
  await page.waitForSelector('.outbound tbody tr');
  const before = await page.locator('.outbound tbody td:first-child').allTextContents();
  assert.ok(before.every((r) => r.startsWith('ICN')), before.join());
  await page.fill('.origin-picker input[name=origin]', 'nrt');
  await page.click('.origin-picker button[type=submit]');
  await page.waitForURL(/origin=nrt/i);
  await page.waitForSelector('h3:has-text("From NRT")');
  const after = await page.locator('.outbound tbody td:first-child').allTextContents();
  assert.ok(after.length > 0 && after.every((r) => r.startsWith('NRT')), after.join());
  // Next time, without the parameter, the page remembers.
  await page.goto(`${BASE}/events/${encodeURIComponent(ev.id)}`);
  await page.waitForSelector('h3:has-text("From NRT")');
  await page.close();
});

test('provider text with HTML renders as text, and missing parts say so', async () => {
  // An event as a hostile provider might send it, far from any stored place or airport.
  const title = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>Hostile & <b>bold</b> title';
  execFileSync('python3', ['-c', `
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.row_factory = sqlite3.Row
row = dict(db.execute("SELECT * FROM events WHERE state = 'active' LIMIT 1").fetchone())
row.update(id='e2e-hostile', title=sys.argv[2], description=sys.argv[2], venue_name=sys.argv[2],
           lat=-30.0, lon=-140.0, impact=None, country='ZZ')
cols = ','.join(row)
db.execute(f"INSERT OR REPLACE INTO events ({cols}) VALUES ({','.join('?' * len(row))})", list(row.values()))
# A writer outside the app must move the events' generation on for the servers' caches.
# (The map's stored counts follow at the next write through the app; a search counts live.)
db.execute("UPDATE store_state SET events_generation = events_generation + 1")
db.commit()
`, process.env.TOURSHERPA_DB, title]);
  const page = await b.context.newPage();
  await page.goto(`${BASE}/?q=Hostile`);
  await page.waitForSelector('.event-item[data-id="e2e-hostile"]');
  assert.equal(await page.locator('.event-item .title').first().textContent(), title);
  await page.goto(`${BASE}/events/e2e-hostile`);
  await page.waitForSelector('article.event h1');
  assert.equal(await page.locator('article.event h1').textContent(), title);
  assert.equal(await page.locator('article.event img').count(), 0);
  assert.equal(await page.evaluate(() => window.__xss), undefined);
  for (const text of ['Nothing stored nearby yet', 'No airport with scheduled flights', 'No offers stored', 'No total yet', 'no day-by-day demand']) {
    assert.ok(await page.locator(`text=${text}`).count() > 0, text);
  }
  await page.close();
});
