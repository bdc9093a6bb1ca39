// The documentation site (npm run docs: typedoc from the TSDoc of every
// entry, with the guides and SECURITY.md as pages): built with warnings as
// errors, then opened in Chromium: every internal link resolves, every
// picture loads, and a search for "authenticate" finds its page.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { chromiumMissing, launchChromium } from './helpers/browser.ts';

const root = path.join(import.meta.dirname, '..');
const skip = process.env.CI ? false : chromiumMissing() ?? false;
const out = fs.mkdtempSync(path.join(os.tmpdir(), 'oidc-docs-site-'));
let server: http.Server;
let base = '';

describe('the documentation site', { skip }, () => {
  before(async () => {
    // typedoc.json has validation.notDocumented and treatWarningsAsErrors: an export or member without TSDoc fails this build.
    const built = spawnSync(process.execPath, [path.join(root, 'node_modules', 'typedoc', 'bin', 'typedoc'), '--out', out], { cwd: root, encoding: 'utf8' });
    assert.equal(built.status, 0, `typedoc (warnings are errors): ${built.stdout}${built.stderr}`);
    server = http.createServer((req, res) => {
      const file = path.join(out, decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname));
      if (!file.startsWith(out) || !fs.existsSync(file) || fs.statSync(file).isDirectory()) {
        res.writeHead(404);
        return res.end('not found');
      }
      const type = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml' }[path.extname(file)] ?? 'application/octet-stream';
      res.writeHead(200, { 'content-type': type });
      fs.createReadStream(file).pipe(res);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    await new Promise<void>((resolve) => server?.close(() => resolve()));
    fs.rmSync(out, { recursive: true, force: true });
  });

  it('has a page per guide and per entry; every internal link resolves and every picture loads', async (t) => {
    const guides = fs.readdirSync(path.join(root, 'docs', 'guides')).filter((name) => name.endsWith('.md'));
    const documents = fs.readdirSync(path.join(out, 'documents'));
    assert.equal(documents.length, guides.length + 1, `a page per guide and SECURITY.md: ${documents.join(', ')}`);
    for (const entry of ['index', 'machines', 'react', 'redis', 'keyring']) assert.ok(fs.existsSync(path.join(out, 'modules', `${entry}.html`)), entry);

    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      const pages = new Set<string>();
      const queue = [`${base}/index.html`];
      const broken: string[] = [];
      let pictures = 0;
      while (queue.length > 0) {
        const url = queue.shift() ?? '';
        if (pages.has(url)) continue;
        pages.add(url);
        const response = await page.goto(url);
        if (!response || response.status() !== 200) {
          broken.push(`${url} (${response?.status()})`);
          continue;
        }
        const images = await page.$$eval('img', (list) => list.map((img) => ({ src: img.src, ok: img.complete && img.naturalWidth > 0 })));
        pictures += images.length;
        for (const image of images) if (!image.ok) broken.push(`picture ${image.src} on ${url}`);
        const links = (await page.$$eval('a[href]', (list) => list.map((a) => a.getAttribute('href') ?? ''))).map((href) => new URL(href, url).toString());
        for (const link of links) {
          if (!link.startsWith(base)) continue;
          const target = link.split('#')[0] ?? '';
          if (!pages.has(target) && !queue.includes(target)) queue.push(target);
        }
      }
      t.diagnostic(`${pages.size} pages, ${pictures} pictures`);
      assert.deepEqual(broken, []);
      assert.ok(pictures >= 4, 'the statechart and architecture pictures are there');

      await page.goto(`${base}/index.html`);
      await page.click('#tsd-search-trigger, #tsd-search input, #tsd-search-field').catch(() => {});
      const field = page.locator('#tsd-search-input, #tsd-search-field, #tsd-search input').first();
      await field.fill('authenticate');
      const result = page.locator('#tsd-search-results a, .results a').first();
      await result.waitFor({ timeout: 10_000 });
      assert.match(await result.innerText(), /authenticate/i);
      const hrefs = await page.$$eval('#tsd-search-results a, .results a', (list) => list.map((a) => a.getAttribute('href') ?? ''));
      const found = hrefs.find((href) => /functions\/index\.authenticate\.html$/.test(href));
      assert.ok(found, `authenticate()'s page is among the results: ${hrefs.join(' ')}`);
      const opened = await page.goto(new URL(found ?? '', `${base}/index.html`).toString());
      assert.equal(opened?.status(), 200);
      assert.match(await page.innerText('h1'), /authenticate/);
      const rfcs = await page.$$eval('a[href^="https://www.rfc-editor.org/"]', (list) => list.map((a) => a.textContent ?? ''));
      assert.ok(rfcs.includes('RFC 8628') && rfcs.includes('RFC 7636'), `authenticate() links the RFCs it implements: ${rfcs.join(', ')}`);
      await page.goto(`${base}/classes/index.Client.html`);
      const clientRfcs = await page.$$eval('a[href^="https://www.rfc-editor.org/"]', (list) => list.map((a) => a.textContent ?? ''));
      for (const section of ['RFC 8628 3.4', 'RFC 6749 6', 'RFC 8693 2.1', 'RFC 7009 2.1']) assert.ok(clientRfcs.includes(section), `Client links ${section}`);
    } finally {
      await browser.close();
    }
  });
});
