// The admin page in chromium, against a server of its own: an account made with
// `toursherpa admin add` (password on standard input), sign-in, a refresh started from the
// page and watched to its end without a reload, the "already running" case, a cancel, the
// run in the history with its class counts, sign-out, and the page closed afterwards.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { launch } from './helpers.mjs';

const ROOT = resolve(process.cwd(), '..');
const BIN = process.env.TOURSHERPA_BIN ?? join(ROOT, 'target/release/toursherpa');
const PORT = process.env.E2E_ADMIN_PORT ?? '3918';
const BASE = `http://127.0.0.1:${PORT}`;
const USER = 'e2e-admin';
const PASSWORD = randomBytes(18).toString('base64');

let dir;
let server;
let b;
let log = '';

function env() {
  return {
    ...process.env,
    DATABASE_URL: `sqlite://${join(dir, 'admin.db')}?mode=rwc`,
    LEPTOS_SITE_ADDR: `127.0.0.1:${PORT}`,
    LEPTOS_SITE_ROOT: 'target/site',
    // Each run's events fetch takes 3 s, long enough to watch and to cancel.
    TOURSHERPA_DEMO_LATENCY_MS: '3000',
  };
}

/** Polls the runs API until no run is running; answers the runs. */
async function idle(token, timeoutMs = 120_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const r = await fetch(`${BASE}/api/v1/runs`, { headers: { authorization: `Bearer ${token}` } });
      if (r.ok) {
        const body = await r.json();
        if (body.items.length > 0 && body.items.every((run) => run.status !== 'running')) return body.items;
      }
    } catch { /* not up yet */ }
    await new Promise((res) => setTimeout(res, 300));
  }
  throw new Error(`no idle server at ${BASE}\n${log.slice(-3000)}`);
}

async function apiToken() {
  for (let i = 0; i < 200; i++) {
    try {
      const r = await fetch(`${BASE}/api/v1/session`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: USER, password: PASSWORD }),
      });
      if (r.status === 201) return (await r.json()).token;
      throw new Error(`sign-in answered ${r.status}`);
    } catch (e) {
      if (String(e.message).startsWith('sign-in answered')) throw e;
      await new Promise((res) => setTimeout(res, 300));
    }
  }
  throw new Error(`server at ${BASE} did not start\n${log.slice(-3000)}`);
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'toursherpa-admin-'));
  const added = spawnSync(BIN, ['admin', 'add', USER], { cwd: ROOT, env: env(), input: `${PASSWORD}\n` });
  assert.equal(added.status, 0, `admin add failed: ${added.stderr}`);
  // The same name again is refused, and the existing password stays.
  const again = spawnSync(BIN, ['admin', 'add', USER], { cwd: ROOT, env: env(), input: 'another password here\n' });
  assert.notEqual(again.status, 0);
  assert.match(String(again.stderr), /already exists/);
  server = spawn(BIN, ['serve'], { cwd: ROOT, env: env() });
  server.stdout.on('data', (d) => { log += d; });
  server.stderr.on('data', (d) => { log += d; });
  const token = await apiToken();
  await idle(token); // the first refresh, which the server starts by itself
  b = await launch();
});

after(async () => {
  await b?.close();
  server?.kill();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('an admin signs in, starts a refresh, watches it end, reads the history and signs out', async () => {
  const page = await b.context.newPage();
  const closed = await page.goto(`${BASE}/admin`);
  assert.equal(closed.status(), 401, 'the admin page is closed to anonymous visitors');
  await page.click('a[href="/admin/sign-in"]');

  // A wrong password is refused without saying whether the account exists.
  await page.fill('input[name=username]', USER);
  await page.fill('input[name=password]', 'not the password at all');
  await page.click('button[type=submit]');
  assert.match(await page.locator('p.error').textContent(), /Wrong user name or password/);

  await page.fill('input[name=username]', USER);
  await page.fill('input[name=password]', PASSWORD);
  await Promise.all([page.waitForURL(`${BASE}/admin`), page.click('button[type=submit]')]);
  await page.waitForSelector('.admin[data-live="1"]');
  assert.match(await page.locator('.signed-in').textContent(), new RegExp(`Signed in as ${USER}`));
  await page.waitForSelector('[data-testid=idle]');
  const runsBefore = await page.locator('table.runs tbody tr').count();
  assert.ok(runsBefore >= 1, 'the first refresh is in the history');

  // Nothing below reloads the page: this mark would be lost.
  await page.evaluate(() => { window.__sameDocument = true; });

  // Start an incremental refresh and watch it: the progress panel appears, then the run ends.
  await page.click('button:has-text("Start incremental refresh")');
  await page.waitForSelector('p.notice:has-text("started")');
  const runId = Number(/Run (\d+) started/.exec(await page.locator('p.notice').first().textContent())[1]);
  await page.waitForSelector(`.run-progress[data-run="${runId}"]`, { timeout: 5_000 });
  assert.match(await page.locator('.run-progress .stage').textContent(), /fetch|validate|diff|commit|enrich/);
  assert.ok(await page.locator('button:has-text("Start full refresh")').isDisabled(), 'no second start while one runs');
  await page.waitForSelector('[data-testid=idle]', { timeout: 60_000 });
  const row = page.locator(`table.runs tr[data-run="${runId}"]`);
  await row.waitFor();
  assert.equal(await row.locator('td.status').textContent(), 'succeeded');
  const cells = await row.locator('td').allTextContents();
  // Unchanged, changed, moved, new and gone: counts, which add up to the store's events.
  const classes = cells.slice(6, 11).map(Number);
  assert.ok(classes.every((n) => Number.isInteger(n) && n >= 0), cells.join(' | '));
  assert.ok(classes.reduce((a, n) => a + n, 0) > 100, cells.join(' | '));
  assert.equal(await page.evaluate(() => window.__sameDocument), true, 'the page was not reloaded');

  // "Already running": a run started elsewhere (the API) is refused here, clearly.
  const token = await apiToken();
  const other = await fetch(`${BASE}/api/v1/runs`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ mode: 'full' }),
  });
  assert.equal(other.status, 202);
  const otherId = (await other.json()).id;
  if (await page.locator('button:has-text("Start full refresh")').isEnabled()) {
    await page.click('button:has-text("Start full refresh")');
    await page.waitForSelector('p.already-running');
    assert.match(await page.locator('p.already-running').textContent(), /already running/);
  }
  // Cancel it from the page.
  await page.waitForSelector(`.run-progress[data-run="${otherId}"] button.cancel`, { timeout: 5_000 });
  await page.click(`.run-progress[data-run="${otherId}"] button.cancel`);
  await page.waitForSelector('[data-testid=idle]', { timeout: 30_000 });
  await page.locator(`table.runs tr[data-run="${otherId}"] td.status:has-text("cancelled")`).waitFor();

  // The drill-down lists the events of a class.
  await page.click(`table.runs tr[data-run="${runId}"] a[href="/admin/runs/${runId}"]`);
  await page.waitForSelector('h1.page-title:has-text("succeeded")');
  assert.ok(await page.locator('.class-tabs a').count() === 5);

  // The audit log names who did what.
  await page.goto(`${BASE}/admin`);
  const audit = await page.locator('table.audit').textContent();
  assert.match(audit, /refresh_start/);
  assert.match(audit, /refresh_cancel/);
  assert.match(audit, /sign_in/);

  // Sign out: the page is closed again, even with the old cookie.
  const [cookie] = (await b.context.cookies(BASE)).filter((c) => c.name === 'ts_session');
  assert.ok(cookie.httpOnly && cookie.sameSite === 'Strict', JSON.stringify(cookie));
  await Promise.all([page.waitForURL(/signed_out=1/), page.click('form.sign-out button')]);
  assert.match(await page.locator('.notice').textContent(), /signed out/);
  const after = await page.goto(`${BASE}/admin`);
  assert.equal(after.status(), 401);
  const replay = await fetch(`${BASE}/api/v1/runs`, { headers: { cookie: `ts_session=${cookie.value}` } });
  assert.equal(replay.status, 401, 'the old session cookie no longer opens anything');
  await page.close();
});
