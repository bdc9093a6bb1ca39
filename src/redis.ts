/**
 * Redis token store: `new RedisTokenStore({ url, prefix })` shares tokens
 * between every process and machine that uses the same Redis, and makes a
 * refresh once for the whole fleet (a lock with a lease and a fencing token).
 * `redis` (node-redis) is an optional peer dependency; the root entry never
 * loads it.
 *
 * @example
 * ```ts
 * import { authenticate } from 'oidc-auth-client';
 * import { RedisTokenStore } from 'oidc-auth-client/redis';
 *
 * const store = new RedisTokenStore({ url: process.env.REDIS_URL, prefix: 'billing-worker:' });
 * const token = await authenticate({ host: 'https://myapp.example.org', store });
 * ```
 *
 * @packageDocumentation
 */
export { RedisTokenStore, type RedisTokenStoreOptions } from './adapters/store/redis-store.ts';
export { redactRedisUrl, type RedisConnection } from './adapters/store/redis-connection.ts';
