/**
 * Keyring token store: `new KeyringTokenStore({ appName })`, or simply
 * `authenticate({ store: 'keyring' })`, keeps each server's token as a
 * secret in the operating system's keyring (Secret Service on Linux,
 * Keychain on macOS, Credential Manager on Windows) through
 * `@napi-rs/keyring`, an optional dependency loaded on first use. When the
 * keyring is unavailable the token goes to the plaintext file store, with
 * one warning that says where and why.
 *
 * @example
 * ```ts
 * import { authenticate } from 'oidc-auth-client';
 * import { KeyringTokenStore } from 'oidc-auth-client/keyring';
 *
 * const store = new KeyringTokenStore({ appName: 'my-tool' });
 * const token = await authenticate({ host: 'https://myapp.example.org', store });
 * ```
 *
 * @packageDocumentation
 */
export { KeyringTokenStore, type KeyringTokenStoreOptions } from './adapters/store/keyring-store.ts';
export { KEYRING_PART_SIZE } from './adapters/store/keyring-items.ts';
