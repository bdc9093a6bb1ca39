// The lock of a Redis token store: taken with a lease and a fencing number
// (one script), renewed every third of the lease, released only by its
// owner; a commit is refused when the lease was lost or a newer holder wrote.
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { AuthError } from '../../errors.ts';
import type { LoginTurnOptions, StoreLease, TurnHolder } from './contract.ts';
import { isPair, text, type RedisLink } from './redis-connection.ts';

// Every key of one store shares the hash tag {store}, so they land in one slot.
const LOCK_SCRIPT = `
if redis.call('EXISTS', KEYS[1]) == 1 then return {0, redis.call('GET', KEYS[1])} end
local fence = redis.call('INCR', KEYS[2])
local value = fence .. ' ' .. ARGV[1]
redis.call('SET', KEYS[1], value, 'PX', ARGV[2])
return {1, value}`;

const RENEW_SCRIPT = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0`;

const UNLOCK_SCRIPT = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

// KEYS: lock, entries, version, last fence. ARGV: lock value, fence, 'clear' or 'set', then field/value pairs ('' drops the field).
export const COMMIT_SCRIPT = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return redis.error_reply('LEASE_LOST the lock is no longer held by this writer') end
local last = tonumber(redis.call('GET', KEYS[4]) or '0')
if tonumber(ARGV[2]) < last then return redis.error_reply('FENCED a newer lock holder has written') end
if ARGV[3] == 'clear' then redis.call('DEL', KEYS[2]) end
for i = 4, #ARGV, 2 do
  if ARGV[i + 1] == '' then redis.call('HDEL', KEYS[2], ARGV[i]) else redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1]) end
end
redis.call('SET', KEYS[4], ARGV[2])
return redis.call('INCR', KEYS[3])`;

export const READ_SCRIPT = `return {redis.call('GET', KEYS[2]), redis.call('HGET', KEYS[1], ARGV[1])}`;

function holderOf(value: string | undefined): TurnHolder | undefined {
  const json = value?.slice(value.indexOf(' ') + 1);
  try {
    const holder = JSON.parse(json ?? '') as Partial<TurnHolder>;
    return typeof holder.pid === 'number' && typeof holder.hostname === 'string' ? { pid: holder.pid, hostname: holder.hostname } : undefined;
  } catch {
    return undefined;
  }
}

/** A held Redis lock: its value (fence and owner), renewed until released. */
export interface RedisLock extends StoreLease {
  readonly value: string;
  readonly fence: string;
  /** Why the lease was lost, once a renewal found another owner. */
  readonly lost: string | undefined;
  /** When the lease was last taken or renewed (ms): it lasts until then + leaseMs. */
  readonly renewedAt: number;
  /** Release, and resolve once Redis has been told (the next holder need not wait). */
  releaseNow(): Promise<void>;
}

/** The lock keys of one store, and how long a lease lasts. */
export interface LeaseSettings {
  link: RedisLink;
  /** The key of the store's fencing counter. */
  fenceKey: string;
  leaseMs: number;
}

/** The store_error for a holder whose lease ran out or was fenced: its write was refused. */
export function leaseLost(leaseMs: number, why: string): AuthError {
  return new AuthError('store_error', `This process held the token store's lock in Redis for longer than its lease (${leaseMs} ms) and ${why}: its write was refused, so that it cannot overwrite a newer token. ` +
    'Try again; if this repeats, the process is being paused or cut off from Redis (raise leaseMs).');
}

/** Take `key` (waiting with back-off), and renew it every third of the lease until released. */
export async function takeLock(settings: LeaseSettings, key: string, options: LoginTurnOptions, what: string): Promise<RedisLock> {
const { link, fenceKey, leaseMs } = settings;
  const owner = JSON.stringify({ pid: process.pid, hostname: os.hostname(), nonce: randomBytes(9).toString('base64url') });
  const deadline = Date.now() + options.timeoutMs;
  let delay = 10;
  let waited = false;
  for (;;) {
    if (options.signal?.aborted) throw new AuthError('cancelled', `Cancelled while waiting for ${what}.`);
    const asked = Date.now();
    const [taken, value] = link.expect(await link.command(['EVAL', LOCK_SCRIPT, '2', key, fenceKey, owner, String(leaseMs)]), isPair, 'taking the lock');
    const held = text(value) ?? '';
    if (taken === 1) return renewed(settings, key, held, asked);
    if (!waited) {
      waited = true;
      options.onWait?.(holderOf(held));
    }
    if (Date.now() + delay > deadline) {
      const holder = holderOf(held);
      throw new AuthError('lock_timeout', `Waited ${Math.round(options.timeoutMs / 1000)} s for ${what} in Redis${holder ? `, held by process ${holder.pid} on ${holder.hostname}` : ''}. ` +
        'It is released when that process finishes, or within its lease if it died; try again.');
    }
    await sleep(delay * (0.5 + Math.random()), undefined, { signal: options.signal }).catch(() => undefined);
    delay = Math.min(delay * 2, 200);
  }
}

function renewed(settings: LeaseSettings, key: string, value: string, takenAt: number): RedisLock {
const { link, leaseMs } = settings;
  let lost: string | undefined;
  let released = false;
  let renewedAt = takenAt;
  const renew = async () => {
    try {
      const asked = Date.now();
      const renewed = await link.command(['EVAL', RENEW_SCRIPT, '1', key, value, String(leaseMs)]);
      if (renewed === 1) renewedAt = asked;
      else if (!released) lost = 'the lease ran out';
    } catch {
      // Redis is unreachable: the commit will tell, with the lease as the bound.
    }
  };
  const timer = setInterval(() => void renew(), Math.max(50, Math.floor(leaseMs / 3)));
  return {
    value,
    fence: value.slice(0, value.indexOf(' ')),
    get lost() {
      return lost;
    },
    get renewedAt() {
      return renewedAt;
    },
    release() {
      void this.releaseNow();
    },
    releaseNow: async () => {
      if (released) return;
      released = true;
      clearInterval(timer);
      await link.command(['EVAL', UNLOCK_SCRIPT, '1', key, value]).catch(() => undefined); // Else it expires with its lease.
    },
  };
}
