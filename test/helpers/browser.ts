// Headless Chromium (Debian's, driven by playwright-core) for the tests that
// need a real browser.
import fs from 'node:fs';
import type { Browser, Page } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Why the browser tests cannot run here, or undefined when they can. */
export function chromiumMissing(): string | undefined {
  return fs.existsSync(CHROMIUM) ? undefined : `no Chromium at ${CHROMIUM} (.ci/run installs Debian's chromium; or set CHROMIUM_PATH)`;
}

export async function launchChromium(): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  return chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
}

/**
 * Act as a person on oidc-provider's real pages: confirm the user code, sign
 * in with any name and password, give consent, until a page has no form left.
 * Resolves to the last page's text.
 */
export async function signInAtProvider(page: Page, login = 'alice'): Promise<string> {
  for (let step = 0; step < 10; step += 1) {
    await page.waitForLoadState('load');
    const form = page.locator('form');
    if ((await form.count()) === 0) return page.innerText('body');
    if (await page.locator('input[name="login"]').count()) await page.fill('input[name="login"]', login);
    if (await page.locator('input[name="password"]').count()) await page.fill('input[name="password"]', 'any-password');
    const button = page.locator('button[type="submit"], input[type="submit"]').filter({ hasNotText: /abort|cancel|deny/i }).first();
    await Promise.all([page.waitForEvent('framenavigated'), button.click()]);
  }
  throw new Error(`still on a form after 10 pages: ${page.url()}`);
}
