// The code login through a real `ssh -L` forward, as a person on a laptop
// logs in on a remote login node: the CLI listens on the node's loopback,
// OpenSSH forwards the laptop's localhost:PORT to it, and the browser on the
// laptop opens the login address there. On one machine the laptop's
// localhost is 127.0.0.2 (the browser below resolves `localhost` there), so
// every request of the browser to the CLI crosses sshd. The forwarded
// connection comes from the person's own sshd session, so the loopback
// server's check of the socket's owner lets it in.
import assert from 'node:assert/strict';
import dns from 'node:dns';
import { after, before, describe, it } from 'node:test';
import { Agent, fetch as undiciFetch } from 'undici';
import { startCli } from './helpers/cli.ts';
import { loopbackRedirects } from './fixtures/idp.ts';
import { Person } from './fixtures/person.ts';
import { sshdMissing, startSshd, type Sshd } from './fixtures/sshd.ts';
import { startWorld, type World } from './fixtures/world.ts';
import { accepts } from './helpers/ports.ts';

// CI installs openssh-server (.ci/run): there a missing one is a failure, not a skip.
const skip = process.env.CI ? false : sshdMissing();
/** The callback port of this file's login (registered at the test provider). */
const PORT = 53112;
const LAPTOP = '127.0.0.2';

/** The laptop's browser: `localhost` is the laptop's own loopback, where only ssh listens. */
function laptopFetch(): typeof globalThis.fetch {
  const dispatcher = new Agent({
    connect: {
      lookup: (hostname: string, options: dns.LookupOptions, callback: (error: Error | null, address: string | dns.LookupAddress[], family?: number) => void) => {
        if (hostname === 'localhost') return options.all ? callback(null, [{ address: LAPTOP, family: 4 }]) : callback(null, LAPTOP, 4);
        return dns.lookup(hostname, options, callback);
      },
    },
  });
  return ((input: string | URL | Request, init?: RequestInit) => undiciFetch(input as string, { ...(init as object), dispatcher })) as unknown as typeof globalThis.fetch;
}

describe('the code login through ssh -L', { skip }, () => {
  let sshd: Sshd | undefined;
  let world: World | undefined;
  before(async () => {
    sshd = await startSshd();
    world = await startWorld({ idp: { redirectUris: loopbackRedirects([PORT]) } });
  });
  after(async () => {
    await world?.close();
    await sshd?.close();
  });

  it('the browser on the other side of a real OpenSSH forward opens the login address, logs in, and the CLI stores the person\'s token', { timeout: 60_000 }, async () => {
    const { app, idp, store } = world as World;
    let forwarded: Promise<void> | undefined;
    let visit: Promise<{ url: string; status: number; text: string }> | undefined;
    const run = startCli([app.host, '--flow', 'code', '-p', String(PORT), '--no-browser', '--interactive', '--timeout', '30', '--store', store.path], {}, {
      onStderr: (stderr) => {
        const url = /(http:\/\/localhost:\d+\/login\/[A-Za-z0-9_-]+)/.exec(stderr)?.[1];
        if (!url || forwarded) return;
        forwarded = (async () => {
          assert.equal(await accepts(LAPTOP, PORT), false, 'nothing listens on the laptop side before the forward');
          await sshd?.forward({ address: LAPTOP, port: PORT }, { host: 'localhost', port: PORT });
          visit = new Person({ login: 'grace', fetch: laptopFetch() }).visit(url);
          await visit;
        })();
      },
    });
    const result = await run.done;
    await forwarded;
    const landed = await visit;
    assert.equal(result.code, 0, result.stderr);
    assert.equal(landed?.status, 200, landed?.text);
    assert.match(landed?.text ?? '', /Login successful/);
    assert.doesNotMatch(result.stderr, /refused/, 'no request through the forward was refused');
    const token = store.get(app.host);
    assert.equal(result.stdout.trim(), token?.access_token);
    const whoami = await fetch(`${idp.issuer}/me`, { headers: { authorization: `Bearer ${token?.access_token}` } });
    assert.equal(((await whoami.json()) as { sub: string }).sub, 'grace');
  });
});
