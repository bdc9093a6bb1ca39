// oidc-agent's encrypted IPC with tweetnacl (libsodium's constructions):
// X25519 key pairs (crypto_kx_keypair), the shared key of crypto_box_beforenm
// (nacl.box.before), and crypto_secretbox_easy (nacl.secretbox) with a random
// 24-byte nonce; the message travels as `<length>:<base64 nonce>:<base64 box>`.
import nacl from 'tweetnacl';

/** One side's key pair for one conversation. */
export interface IpcKeys {
  publicKey: string;
  secretKey: Uint8Array;
}

/** A fresh key pair; the public key as standard base64. */
export function ipcKeyPair(): IpcKeys {
  const pair = nacl.box.keyPair();
  return { publicKey: Buffer.from(pair.publicKey).toString('base64'), secretKey: pair.secretKey };
}

/** The conversation's key from the other side's public key (base64), or undefined when it is no 32-byte key. */
export function sharedKey(theirPublicKey: string, mine: IpcKeys): Uint8Array | undefined {
  const key = Buffer.from(theirPublicKey, 'base64');
  if (key.length !== nacl.box.publicKeyLength) return undefined;
  return nacl.box.before(new Uint8Array(key), mine.secretKey);
}

/** `text` sealed for the conversation: `<length>:<nonce>:<box>`. */
export function seal(text: string, key: Uint8Array): string {
  const message = new TextEncoder().encode(text);
  const nonce = nacl.randomBytes(nacl.secretbox.nonceLength);
  const box = nacl.secretbox(message, nonce, key);
  return `${message.length}:${Buffer.from(nonce).toString('base64')}:${Buffer.from(box).toString('base64')}`;
}

/** The text of a sealed message, or undefined when it does not open with `key` (tampered, another key, the wrong length). */
export function open(frame: { length: number; nonce: string; box: string }, key: Uint8Array): string | undefined {
  const nonce = Buffer.from(frame.nonce, 'base64');
  if (nonce.length !== nacl.secretbox.nonceLength) return undefined;
  const opened = nacl.secretbox.open(new Uint8Array(Buffer.from(frame.box, 'base64')), new Uint8Array(nonce), key);
  if (!opened || opened.length !== frame.length) return undefined;
  return new TextDecoder('utf-8', { fatal: false }).decode(opened);
}
