// A short fuzzing round of every parser (npm run fuzz runs 10,000 cases each).
import { describe, it } from 'node:test';
import { PROPERTIES } from './fuzz/properties.ts';

const RUNS = Number(process.env.FUZZ_RUNS ?? 300);

describe(`fuzzing (${RUNS} cases per parser)`, () => {
  for (const property of PROPERTIES) it(property.name, async () => void (await property.run(RUNS)));
});
