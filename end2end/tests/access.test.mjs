// Language switch, phone-sized screens, keyboard use and layout stability.
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

test('the language switch turns the pages Korean and back', async () => {
  const context = await b.browser.newContext({ viewport: { width: 1280, height: 860 } });
  const page = await context.newPage();
  await page.goto(`${BASE}/?category=sports`);
  await page.waitForSelector('.world-map[data-events]');
  await page.click('.lang-switch a[hreflang=ko]');
  await page.waitForSelector('html[lang=ko]');
  assert.match(page.url(), /category=sports/, 'the same page, in Korean');
  await page.waitForSelector('.world-map[data-events]');
  assert.equal(await page.locator('legend').first().textContent(), '분류');
  const meta = await page.locator('.event-item .meta').first().textContent();
  assert.match(meta, /\d{4}년 \d{1,2}월 \d{1,2}일/, `Korean dates: ${meta}`);
  // The Korean page hydrates without errors and stays Korean after client navigation.
  await page.check('input[name=category][value=expos]');
  await page.click('form.filters button[type=submit]');
  await page.waitForURL(/expos/);
  await page.waitForSelector('.world-map[data-events]');
  assert.equal(await page.locator('form.filters button[type=submit]').textContent(), '검색');
  await page.click('.lang-switch a[hreflang=en]');
  await page.waitForSelector('html[lang=en]');
  assert.equal(await page.locator('legend').first().textContent(), 'Categories');
  await context.close();
});

test('a phone-sized screen needs no sideways scrolling', async () => {
  const context = await b.browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  const page = await context.newPage();
  await page.goto(`${BASE}/`);
  await page.waitForSelector('.world-map[data-events]');
  const overflow = async () => page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(await overflow() <= 1, `home overflows by ${await overflow()} px`);
  const box = await page.locator('.world-map').boundingBox();
  assert.ok(box.width >= 350 && box.height >= 250, `map ${box.width}x${box.height}`);
  const href = await page.locator('.event-item a').first().getAttribute('href');
  await page.goto(`${BASE}${href}`);
  await page.waitForSelector('.places-map[data-pins]');
  assert.ok(await overflow() <= 1, `event page overflows by ${await overflow()} px`);
  await context.close();
});

test('the map is usable from the keyboard', async () => {
  const page = await b.context.newPage();
  await page.goto(`${BASE}/`);
  await page.waitForSelector('.world-map[data-events]');
  const cluster = page.locator('.cluster-pin').first();
  assert.equal(await cluster.getAttribute('tabindex'), '0');
  assert.match(await cluster.getAttribute('title'), /^\d+ events here/);
  await cluster.focus();
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => Number(new URL(location.href).searchParams.get('view')?.split(',')[2]) >= 4);
  await page.close();
});

test('no layout jump when the pages hydrate', async () => {
  const page = await b.context.newPage();
  await page.addInitScript(() => {
    window.__cls = 0;
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) if (!e.hadRecentInput) window.__cls += e.value;
    }).observe({ type: 'layout-shift', buffered: true });
  });
  await page.goto(`${BASE}/`);
  await page.waitForSelector('.world-map[data-events]');
  await page.waitForTimeout(300);
  const home = await page.evaluate(() => window.__cls);
  assert.ok(home < 0.1, `home CLS ${home}`);
  const href = await page.locator('.event-item a').first().getAttribute('href');
  await page.goto(`${BASE}${href}`);
  await page.waitForSelector('.places-map[data-pins]');
  await page.waitForTimeout(300);
  const ev = await page.evaluate(() => window.__cls);
  assert.ok(ev < 0.1, `event page CLS ${ev}`);
  assert.ok(total > 0);
  await page.close();
});
