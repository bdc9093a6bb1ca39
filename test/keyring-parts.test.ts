// Keyring items sized for the strictest platform: Windows' Credential
// Manager takes a blob of at most 2,560 bytes, and keyring-rs (under
// @napi-rs/keyring) writes the secret there as UTF-16, two bytes a code
// unit. Every part must fit, whatever the token's size, and the parts must
// join back to the whole, also when a character outside the BMP straddles a cut.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KEYRING_PART_SIZE, splitSecret } from '../src/adapters/store/keyring-items.ts';
import { testToken } from './fixtures/token.ts';

/** Credential Manager's limit for one credential blob (CRED_MAX_CREDENTIAL_BLOB_SIZE). */
const WINDOWS_BLOB_BYTES = 5 * 512;
const utf16Bytes = (text: string) => Buffer.byteLength(text, 'utf16le');
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

describe('keyring parts', () => {
  it('every part of an entry of 1 KiB to 16 KiB fits a Windows credential blob in UTF-16, and the parts join to the whole', () => {
    for (let kib = 1; kib <= 16; kib += 1) {
      const token = testToken(`eyJ${'a'.repeat(kib * 1024)}`);
      const whole = JSON.stringify({ token, stored_at: 1_700_000_000, version: 2, generation: 'g' });
      const parts = splitSecret(whole);
      const items = parts.length === 0 ? [whole] : parts;
      for (const item of items) assert.ok(utf16Bytes(item) <= WINDOWS_BLOB_BYTES, `${kib} KiB: an item of ${utf16Bytes(item)} bytes in UTF-16`);
      assert.equal(items.join(''), whole);
    }
  });

  it('one rule on every platform: at most 1,200 characters a part', () => {
    assert.ok(KEYRING_PART_SIZE <= 1200, `${KEYRING_PART_SIZE}`);
    assert.deepEqual(splitSecret('x'.repeat(KEYRING_PART_SIZE)), [], 'a secret that fits is one item');
    assert.deepEqual(splitSecret('x'.repeat(KEYRING_PART_SIZE + 1)).map((part) => part.length), [KEYRING_PART_SIZE, 1]);
  });

  it('a character outside the BMP is never cut in two (a lone surrogate would not survive the keyring)', () => {
    for (let offset = 0; offset < 4; offset += 1) {
      const whole = `${'x'.repeat(KEYRING_PART_SIZE - 1 + offset)}😀${'y'.repeat(KEYRING_PART_SIZE)}😀`;
      const parts = splitSecret(whole);
      assert.equal(parts.join(''), whole);
      for (const part of parts) {
        assert.doesNotMatch(part, LONE_SURROGATE, `offset ${offset}`);
        assert.ok(part.length <= KEYRING_PART_SIZE);
      }
    }
  });
});
