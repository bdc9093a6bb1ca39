// Several terminals at once: two oidc-auth processes started together
// without a token make one login between them; the other waits and prints
// the same token. If the first gives up, a waiting one takes over.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startCli, type CliRun } from './helpers/cli.ts';
import { Person } from './fixtures/person.ts';
import { startWorld } from './fixtures/world.ts';
import { closedAfterEach } from './helpers/servers.ts';

const track = closedAfterEach();

/** Start `oidc-auth host` (no terminal, --interactive) with the store; `onUrl` hears its device URL once. */
function start(host: string, store: string, onUrl: (url: string) => void): CliRun {
  let told = false;
  return startCli([host, '--store', store, '--interactive', '--no-browser', '--flow', 'device'], {}, {
    onStderr: (stderr) => {
      const url = /\(or open (\S+)\)/.exec(stderr)?.[1];
      if (url && !told) {
        told = true;
        onUrl(url);
      }
    },
  });
}

describe('several terminals at once', () => {
  it('two processes started together: one device code, the other waits for it, both print the same token', async () => {
    const world = track(await startWorld());
    const urls: string[] = [];
    let approve: (url: string) => void = () => {};
    const approved = new Promise<string>((resolve) => (approve = resolve));
    const onUrl = (url: string) => {
      urls.push(url);
      approve(url);
    };
    const a = start(world.app.host, world.store.path, onUrl);
    const b = start(world.app.host, world.store.path, onUrl);
    const url = await Promise.race([approved, a.done.then((result) => assert.fail(`the first process ended: ${result.stderr}`)), b.done.then((result) => assert.fail(`the second process ended: ${result.stderr}`))]);
    await new Promise((resolve) => setTimeout(resolve, 500)); // the other process is waiting by now
    await new Person().visit(url);
    const [first, second] = await Promise.all([a.done, b.done]);
    assert.equal(first.code, 0, first.stderr);
    assert.equal(second.code, 0, second.stderr);
    assert.equal(first.stdout, second.stdout, 'the same token');
    assert.equal(world.app.requests.device, 1, 'one device code for both');
    assert.equal(urls.length, 1);
    assert.match(`${first.stderr}${second.stderr}`, /Waiting for the login in process \d+ on /);
  });

  it('the first one cancelled (Ctrl-C): the waiting one takes over with a login of its own', async () => {
    const world = track(await startWorld());
    let second: CliRun | undefined;
    let secondStarted: () => void = () => {};
    const started = new Promise<void>((resolve) => (secondStarted = resolve));
    // The first logs in and shows its code; only then does the second start, and waits for it.
    const first: CliRun = start(world.app.host, world.store.path, () => {
      let killed = false;
      second = startCli([world.app.host, '--store', world.store.path, '--interactive', '--no-browser', '--flow', 'device'], {}, {
        onStderr: (stderr) => {
          // The person gives up in the first terminal once the second waits for it.
          if (!killed && /Waiting for the login in process/.test(stderr)) {
            killed = true;
            first.kill('SIGINT');
          }
          const url = /\(or open (\S+)\)/.exec(stderr)?.[1];
          if (url && killed) void new Person().visit(url).catch(() => {});
        },
      });
      secondStarted();
    });
    await Promise.race([started, first.done.then((result) => assert.fail(`the first process ended: ${result.stderr}`))]);
    const [one, two] = await Promise.all([first.done, (second as CliRun).done]);
    assert.equal(one.code, 130, one.stderr);
    assert.equal(two.code, 0, two.stderr);
    assert.match(two.stderr, /Waiting for the login in process \d+ on /);
    assert.equal(world.app.requests.device, 2, 'the second process logged in after the first gave up');
  });
});
