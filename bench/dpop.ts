// What a DPoP-bound token costs per request (RFC 9449): signing one proof
// (ES256, EdDSA), and an API request on loopback with a proof against the
// same request with a bearer token, interleaved in rounds.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { generateDpopKey, signDpopProof } from '../src/index.ts';
import { percentile } from './lib.ts';

export interface DpopBench {
  es256Us: number;
  eddsaUs: number;
  bearerMs: number;
  dpopMs: number;
  requests: number;
}

async function signingMicros(alg: 'ES256' | 'EdDSA', proofs: number): Promise<number> {
  const key = await generateDpopKey(alg);
  const times: number[] = [];
  for (let i = 0; i < proofs; i += 1) {
    const t0 = performance.now();
    await signDpopProof(key, 'GET', 'https://api.example/data?x=1', 'an-access-token');
    times.push((performance.now() - t0) * 1000);
  }
  return percentile(times, 50);
}

export async function benchDpop(rounds = 20, perRound = 100): Promise<DpopBench> {
  await signingMicros('ES256', 200); // warm-up: jose and WebCrypto load
  const es256Us = await signingMicros('ES256', 2000);
  const eddsaUs = await signingMicros('EdDSA', 2000);
  const server = http.createServer((_req, res) => res.end('{"ok":true}'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/data`;
  const key = await generateDpopKey('ES256');
  const bearer: number[] = [];
  const bound: number[] = [];
  const once = async (headers: () => Promise<Record<string, string>>, into: number[]) => {
    const t0 = performance.now();
    const response = await fetch(url, { headers: await headers() });
    await response.text();
    into.push(performance.now() - t0);
  };
  try {
    for (let round = 0; round < rounds; round += 1) {
      for (let i = 0; i < perRound; i += 1) await once(async () => ({ authorization: 'Bearer an-access-token' }), bearer);
      for (let i = 0; i < perRound; i += 1) await once(async () => ({ authorization: 'DPoP an-access-token', dpop: await signDpopProof(key, 'GET', url, 'an-access-token') }), bound);
    }
  } finally {
    server.close();
  }
  return { es256Us, eddsaUs, bearerMs: percentile(bearer, 50), dpopMs: percentile(bound, 50), requests: rounds * perRound };
}
