// The real Stately inspector client (@statelyai/inspect's WebSocket inspector)
// relaying to a local WebSocket server, as the README shows it: every frame it
// sends is searched for every secret that took part in the login.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { createWebSocketInspector } from '@statelyai/inspect';
import { WebSocketServer } from 'ws';
import { authenticate, authState, TokenStore } from '../src/index.ts';
import { providerKey } from '../src/protocol/store-key.ts';
import { loopbackRedirects } from './fixtures/idp.ts';
import { Person } from './fixtures/person.ts';
import { startScriptedProvider } from './fixtures/scripted-provider.ts';
import { personApproves, startWorld } from './fixtures/world.ts';
import { closedAfterEach } from './helpers/servers.ts';

const track = closedAfterEach();
/** Callback ports of this file's code login (registered at the test provider; other files use others). */
const PORTS = [53120, 53121];

interface Relay {
  url: string;
  frames: string[];
  close(): Promise<void>;
}

/** A WebSocket relay on 127.0.0.1 that keeps every frame the inspector sends. */
async function startRelay(): Promise<Relay> {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await once(server, 'listening');
  const frames: string[] = [];
  server.on('connection', (socket) => socket.on('message', (data: Buffer) => frames.push(data.toString())));
  return {
    url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}`,
    frames,
    close: () => new Promise((resolve) => {
      for (const client of server.clients) client.terminate();
      server.close(() => resolve());
    }),
  };
}

/** A connected inspector: its `inspect`, and `settle()` that waits until no frame has arrived for 300 ms, then stops it. */
async function connectInspector(relay: Relay) {
  const inspector = createWebSocketInspector({ url: relay.url });
  const connected = Date.now();
  while (relay.frames.length === 0 && Date.now() - connected < 50) await new Promise((resolve) => setTimeout(resolve, 10));
  return {
    inspect: inspector.inspect,
    async settle(): Promise<string[]> {
      let count = -1;
      while (count !== relay.frames.length) {
        count = relay.frames.length;
        await new Promise((resolve) => setTimeout(resolve, 300));
      }
      inspector.stop();
      return relay.frames;
    },
  };
}

type Frame = { type: string; name?: string; definition?: string; snapshot?: { value?: unknown } };

function assertClean(frames: string[], secrets: Record<string, string>): void {
  const all = frames.join('\n');
  for (const [name, secret] of Object.entries(secrets)) {
    assert.ok(secret.length >= 8, `the test knows the real ${name}`);
    const at = all.indexOf(secret);
    assert.ok(at < 0, `the ${name} is in a frame: ${all.slice(Math.max(0, at - 200), at + 40)}`);
  }
}

function parsed(frames: string[]): Frame[] {
  return frames.map((frame) => JSON.parse(frame) as Frame);
}

/** Ids of the machines whose whole definitions (with their states) reached the inspector. */
function definitions(frames: Frame[]): string[] {
  return frames.filter((frame) => frame.type === '@xstate.actor' && frame.definition?.includes('"states"'))
    .map((frame) => (JSON.parse(frame.definition ?? '{}') as { id?: string }).id ?? '');
}

describe('the real @statelyai/inspect WebSocket inspector', () => {
  it('a device login: no token, refresh token or device code in any frame; the machines are there to draw', async () => {
    const world = track(await startWorld());
    const relay = track(await startRelay());
    const deviceCodes: string[] = [];
    const fetch: typeof globalThis.fetch = async (input, init) => {
      const response = await globalThis.fetch(input, init);
      const code = /"device_code"\s*:\s*"([^"]+)"/.exec(await response.clone().text())?.[1];
      if (code) deviceCodes.push(code);
      return response;
    };
    const inspector = await connectInspector(relay);
    const token = await authenticate({ host: world.app.host, store: world.store, interactive: true, openBrowser: false, fetch, onDeviceCode: personApproves().onDeviceCode, inspect: inspector.inspect });
    const frames = await inspector.settle();
    assertClean(frames, { 'access token': token.access_token, 'refresh token': token.refresh_token, 'device code': deviceCodes[0] ?? '' });
    const seen = parsed(frames);
    assert.deepEqual([...new Set(definitions(seen))].sort(), ['auth', 'deviceFlow']);
    assert.ok(seen.some((frame) => frame.type === '@xstate.snapshot' && JSON.stringify(frame.snapshot?.value) === '{"authenticated":"resting"}'));
    process.stdout.write(`# device login: ${frames.length} frames\n`);
  });

  it('a host-mode code login: no authorization code, state, PKCE verifier or token in any frame', async () => {
    const world = track(await startWorld({ idp: { redirectUris: loopbackRedirects(PORTS) } }));
    const relay = track(await startRelay());
    const inspector = await connectInspector(relay);
    let callback: Promise<{ url: string }> | undefined;
    const token = await authenticate({
      host: world.app.host, store: world.store, interactive: true, flow: 'code', redirectPorts: PORTS, inspect: inspector.inspect,
      onLoginUrl: () => {}, openBrowser: (url) => void (callback = new Person().visit(url)),
    });
    const frames = await inspector.settle();
    const landed = new URL((await callback)?.url ?? '');
    const state = landed.searchParams.get('state') ?? '';
    assertClean(frames, {
      'authorization code': landed.searchParams.get('code') ?? '',
      state,
      'PKCE verifier': state.slice(state.lastIndexOf('|') + 1),
      'access token': token.access_token,
      'refresh token': token.refresh_token,
    });
    assert.deepEqual([...new Set(definitions(parsed(frames)))].sort(), ['auth', 'codeFlow']);
    process.stdout.write(`# code login: ${frames.length} frames\n`);
  });

  it('a provider refresh with a client secret: no client secret, ID token or token in any frame', async () => {
    const provider = track(await startScriptedProvider());
    const relay = track(await startRelay());
    const store = new TokenStore({ path: `${process.env.TMPDIR ?? '/tmp'}/oidc-inspector-${process.pid}-${Date.now()}.json`, onWarning: () => {} });
    const clientSecret = 'client-secret-that-must-not-leak';
    const now = Math.floor(Date.now() / 1000);
    await store.put(providerKey(provider.issuer, 'scripted-client', ['openid', 'offline_access']), {
      access_token: 'old-access-token-value', token_type: 'Bearer', expires: now - 10, refresh_token: 'old-refresh-token-value', refresh_expires: now + 3600, scope: 'openid', headers: { Authorization: 'Bearer old-access-token-value' },
    });
    const idToken = await provider.idToken({ aud: 'scripted-client' });
    provider.token = { status: 200, body: JSON.stringify({ access_token: 'new-access-token-value', token_type: 'Bearer', expires_in: 300, refresh_token: 'new-refresh-token-value', id_token: idToken }) };
    const inspector = await connectInspector(relay);
    try {
      const token = await authenticate({ issuer: provider.issuer, clientId: 'scripted-client', clientSecret, store, inspect: inspector.inspect, client: { skipIdTokenValidation: true } });
      assert.equal(token.access_token, 'new-access-token-value');
      const frames = await inspector.settle();
      assertClean(frames, {
        'client secret': clientSecret, 'ID token': idToken, 'old refresh token': 'old-refresh-token-value',
        'access token': token.access_token, 'refresh token': token.refresh_token,
      });
      process.stdout.write(`# provider refresh: ${frames.length} frames\n`);
    } finally {
      await import('node:fs').then((fs) => fs.rmSync(store.path, { force: true }));
    }
  });

  it('an inspector that arrives after authState() still gets the root actor announced, with its definition', async () => {
    const world = track(await startWorld());
    const relay = track(await startRelay());
    authState({ host: world.app.host, store: world.store });
    const inspector = await connectInspector(relay);
    await authenticate({ host: world.app.host, store: world.store, interactive: true, openBrowser: false, onDeviceCode: personApproves().onDeviceCode, inspect: inspector.inspect });
    const frames = parsed(await inspector.settle());
    assert.ok(definitions(frames).includes('auth'), 'the root machine was announced');
    process.stdout.write(`# late inspector: ${frames.length} frames\n`);
  });
});
