import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { authenticate, AuthError } from '../src/index.ts';
import { personApproves, startWorld, type World } from './fixtures/world.ts';

describe('device login against a real oidc-provider', () => {
  let world: World;
  beforeEach(async () => {
    world = await startWorld();
  });
  afterEach(async () => {
    await world.close();
  });

  it('logs in with the device flow, stores the token, and reuses it with zero requests', async () => {
    const person = personApproves();
    const token = await authenticate({ host: world.app.host, store: world.store, interactive: true, openBrowser: false, onDeviceCode: person.onDeviceCode });
    assert.equal(person.shown.length, 1);
    assert.match(person.shown[0]?.user_code ?? '', /^[A-Z]{4}-[A-Z]{4}$/);
    assert.ok(token.access_token.length > 10);
    assert.ok(token.refresh_token.length > 10, 'offline_access gives a refresh token');
    assert.equal(token.headers.Authorization, `Bearer ${token.access_token}`);
    assert.ok(token.expires > Date.now() / 1000 + 3000);
    assert.deepEqual(world.store.get(world.app.host), token);

    const before = { ...world.app.requests };
    const again = await authenticate({ host: world.app.host, store: world.store, interactive: false });
    assert.equal(again.access_token, token.access_token);
    assert.deepEqual(world.app.requests, before, 'a cached token costs no request');
  });

  it('a denial ends the login at once with access_denied', async () => {
    const person = personApproves({ deny: true });
    const started = Date.now();
    await assert.rejects(
      authenticate({ host: world.app.host, store: world.store, interactive: true, openBrowser: false, onDeviceCode: person.onDeviceCode }),
      (error: unknown) => error instanceof AuthError && error.code === 'access_denied' && /denied/i.test(error.message),
    );
    assert.ok(Date.now() - started < 10_000, 'does not poll on after a denial');
    assert.equal(world.store.get(world.app.host), undefined);
  });
});
