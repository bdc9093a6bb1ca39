// The agent's wire format: oidc-agent's IPC-API (indigo-dc/oidc-agent,
// docs/docs/api/api-ipc.md; src/ipc/cryptIpc.c and
// src/utils/crypt/ipcCryptUtils.c for the encrypted form). No framing: each
// message is one write. A client sends either a JSON request, or its X25519
// public key (32 bytes, standard base64) and then the request as
// `<length>:<base64 nonce>:<base64 secretbox>`. Pure: no cryptography here.

import type { Token } from '../types.ts';

/** Longest message the agent reads: more is refused. */
export const MAX_MESSAGE = 64 * 1024;

/** What a client asks. */
export interface AgentRequest {
  request: string;
  /** oidc-agent: an account short name, or (oidc-token with an https:// argument) `issuer`; ours also: a server URL or an account name. */
  account?: string | undefined;
  issuer?: string | undefined;
  /** Ours: the py-oidc-auth server (ignored by oidc-agent's clients). */
  host?: string | undefined;
  /** Seconds the token must stay valid. */
  min_valid_period?: number | undefined;
  scope?: string | undefined;
  audience?: string | undefined;
  application_hint?: string | undefined;
}

/** What one read so far holds. */
export type Message =
  | { kind: 'json'; request: AgentRequest }
  | { kind: 'public-key'; key: string }
  | { kind: 'encrypted'; length: number; nonce: string; box: string }
  | { kind: 'incomplete' }
  | { kind: 'invalid'; why: string };

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** Length of the standard base64 of `bytes` bytes. */
function base64Length(bytes: number): number {
  return Math.ceil(bytes / 3) * 4;
}

/** A request object with its fields of the right types, or why not. */
export function parseRequest(value: unknown): AgentRequest | string {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return 'the request is not a JSON object';
  const record = value as Record<string, unknown>;
  if (typeof record.request !== 'string') return 'the request names no "request"';
  const text = (name: string): string | undefined | false => {
    const field = record[name];
    if (field === undefined || field === null) return undefined;
    return typeof field === 'string' ? field : false;
  };
  const request: AgentRequest = { request: record.request };
  for (const name of ['account', 'issuer', 'host', 'scope', 'audience', 'application_hint'] as const) {
    const field = text(name);
    if (field === false) return `"${name}" must be a string`;
    if (field !== undefined) request[name] = field;
  }
  const period = record.min_valid_period;
  if (period !== undefined && period !== null) {
    const seconds = typeof period === 'string' ? Number(period) : period;
    if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds < 0) return '"min_valid_period" must be a non-negative number of seconds';
    request.min_valid_period = seconds;
  }
  return request;
}

/**
 * What `text` (everything read on a connection at one step of the
 * conversation) is: complete, still incomplete, or never going to be valid.
 * `expectKey` says the client has not sent its key or a JSON request yet.
 */
export function readMessage(text: string, expectKey: boolean): Message {
  if (text.length > MAX_MESSAGE) return { kind: 'invalid', why: `the message is longer than ${MAX_MESSAGE} bytes` };
  const trimmed = text.trim();
  if (trimmed === '') return { kind: 'incomplete' };
  if (trimmed.startsWith('{')) {
    try {
      const request = parseRequest(JSON.parse(trimmed));
      return typeof request === 'string' ? { kind: 'invalid', why: request } : { kind: 'json', request };
    } catch {
      return { kind: 'incomplete' }; // The rest may still come.
    }
  }
  if (expectKey) {
    if (!BASE64.test(trimmed) || trimmed.length > base64Length(32)) return { kind: 'invalid', why: 'the message is neither a JSON request nor a public key' };
    return trimmed.length < base64Length(32) ? { kind: 'incomplete' } : { kind: 'public-key', key: trimmed };
  }
  const parts = /^(\d{1,6}):([A-Za-z0-9+/=]*)(?::([A-Za-z0-9+/=]*))?$/.exec(trimmed);
  if (!parts) return { kind: 'invalid', why: 'the encrypted request is not <length>:<nonce>:<box>' };
  const length = Number(parts[1]);
  const nonce = parts[2] ?? '';
  const box = parts[3];
  if (box === undefined || nonce.length < base64Length(24)) return nonce.length > base64Length(24) ? { kind: 'invalid', why: 'the nonce is too long' } : { kind: 'incomplete' };
  const expected = base64Length(length + 16);
  if (box.length < expected) return { kind: 'incomplete' };
  if (box.length > expected || !BASE64.test(nonce) || !BASE64.test(box)) return { kind: 'invalid', why: 'the encrypted request does not have the length it names' };
  return { kind: 'encrypted', length, nonce, box };
}

/** A success answer with the token (oidc-agent's field names). */
export function successAnswer(token: { access_token: string; expires: number }, issuer: string): string {
  return JSON.stringify({ status: 'success', access_token: token.access_token, issuer, expires_at: token.expires });
}

/** A failure answer: a short error and what to do. */
export function failureAnswer(error: string, info?: string): string {
  return JSON.stringify({ status: 'failure', error, ...(info ? { info } : {}) });
}

/** An answer as a client reads it. */
export type AgentAnswer =
  | { status: 'success'; access_token: string; issuer: string; expires_at: number }
  | { status: 'failure'; error: string; info?: string | undefined }
  | { status: 'other'; fields: Record<string, unknown> };

/** Read an answer (a client's side); anything unreadable is a failure saying so. */
export function parseAnswer(text: string): AgentAnswer {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { status: 'failure', error: 'the agent answered something that is not JSON' };
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return { status: 'failure', error: 'the agent answered something that is not a JSON object' };
  const record = value as Record<string, unknown>;
  if (record.status === 'success' && typeof record.access_token === 'string' && typeof record.expires_at === 'number') {
    return { status: 'success', access_token: record.access_token, issuer: typeof record.issuer === 'string' ? record.issuer : '', expires_at: record.expires_at };
  }
  if (record.status === 'failure') return { status: 'failure', error: typeof record.error === 'string' ? record.error : 'failure', info: typeof record.info === 'string' ? record.info : undefined };
  return { status: 'other', fields: record };
}

/** The request our clients send for a server's token (`host`, or `issuer` for a provider), at least a minute valid. */
export function accessTokenRequest(server: { host?: string | undefined; issuer?: string | undefined }, account: string | undefined, minValidity: number | undefined, hint: string): AgentRequest {
  return {
    request: 'access_token',
    ...(server.issuer !== undefined ? { issuer: server.issuer } : { host: server.host }),
    ...(account ? { account } : {}),
    min_valid_period: Math.max(60, minValidity ?? 60),
    application_hint: hint,
  };
}

/** A success answer as a Token: the access token and its expiry, nothing to refresh with (that stays in the agent). */
export function tokenOfAnswer(answer: { access_token: string; expires_at: number }): Token {
  return { access_token: answer.access_token, token_type: 'Bearer', expires: answer.expires_at, refresh_token: '', refresh_expires: 0, scope: '', headers: { Authorization: `Bearer ${answer.access_token}` } };
}
