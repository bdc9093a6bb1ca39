// A real UI in a real browser: the web-status example followed in headless
// Chromium through a whole device login on oidc-provider's real pages, and
// the code flow landing on our loopback callback page.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { startWebStatus, type WebStatus } from '../examples/web-status/server.ts';
import { authenticate, DeviceFlow } from '../src/index.ts';
import { chromiumMissing, launchChromium, signInAtProvider } from './helpers/browser.ts';
import { startWorld, type World } from './fixtures/world.ts';

const artifacts = path.join(import.meta.dirname, '..', 'test-artifacts');
const missing = chromiumMissing();
let browser: Browser | undefined;
let world: World | undefined;
let status: WebStatus | undefined;

describe('in a real browser', { skip: missing }, () => {
  before(async () => {
    browser = await launchChromium();
    fs.mkdirSync(artifacts, { recursive: true });
  });
  after(async () => browser?.close());
  afterEach(async () => {
    await status?.close();
    DeviceFlow.resetInstances();
    await world?.close();
    status = undefined;
    world = undefined;
  });

  it('examples/web-status shows the state, device code, QR code and countdown live, then the outcome', { timeout: 60_000 }, async () => {
    world = await startWorld();
    status = await startWebStatus({ host: world.app.host, store: world.store, interactive: true });
    const page = await (browser as Browser).newPage({ viewport: { width: 900, height: 900 } });
    await page.goto(status.url);
    await page.waitForSelector('#state[data-state="device-polling"]');
    const userCode = await page.innerText('#user-code');
    assert.match(userCode, /^[A-Z]{4}-[A-Z]{4}$/);
    assert.equal(await page.locator('#qr svg').count(), 1, 'a QR code');
    const first = await page.innerText('#countdown');
    await page.waitForTimeout(1600);
    const second = await page.innerText('#countdown');
    const seconds = (text: string) => Number(text.split(':')[0]) * 60 + Number(text.split(':')[1]);
    assert.ok(seconds(second) < seconds(first) && seconds(first) <= 600, `the countdown runs: ${first} -> ${second}`);
    await page.screenshot({ path: path.join(artifacts, 'web-status-device-code.png') });

    const verification = await page.getAttribute('#verification', 'href');
    assert.ok(verification?.includes(userCode), 'the link carries the code');
    const provider = await (browser as Browser).newPage();
    await provider.goto(verification ?? '');
    const finalText = await signInAtProvider(provider, 'iris');
    assert.match(finalText, /success|signed in|logged in/i, finalText);

    await page.waitForSelector('#state[data-state="authenticated"]', { timeout: 15_000 });
    const token = await status.login;
    assert.match(await page.innerText('#outcome'), /Logged in\. The access token is valid until/);
    assert.equal(await page.locator('#device').isHidden(), true);
    assert.ok(!(await page.content()).includes(token.access_token), 'the page never holds the token');
    await page.screenshot({ path: path.join(artifacts, 'web-status.png') });
  });

  it('the code flow: Chromium follows the login URL, signs in at the provider and lands on our callback page, which says success', { timeout: 60_000 }, async () => {
    world = await startWorld();
    const page = await (browser as Browser).newPage();
    let landed: Promise<string> | undefined;
    const token = await authenticate({
      host: world.app.host, store: world.store, interactive: true, flow: 'code',
      openBrowser: (url) => {
        landed = page.goto(url).then(() => signInAtProvider(page, 'jack'));
      },
    });
    const text = await landed;
    assert.match(page.url(), /^http:\/\/localhost:531\d\d\/callback\?/);
    assert.match(text ?? '', /Login successful/);
    assert.equal(world.store.get(world.app.host)?.access_token, token.access_token);
    await page.screenshot({ path: path.join(artifacts, 'code-flow-callback.png') });
  });
});
