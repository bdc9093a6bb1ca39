// npm run fuzz [-- runs]: every parser property with 10,000 cases (or more), and a report.
import { PROPERTIES } from '../test/fuzz/properties.ts';

const runs = Number(process.argv[2] ?? 10_000);
let failed = 0;
let total = 0;
for (const property of PROPERTIES) {
  const started = performance.now();
  try {
    total += await property.run(runs);
    process.stdout.write(`ok    ${String(runs).padStart(7)} cases  ${((performance.now() - started) / 1000).toFixed(1).padStart(5)} s  ${property.name}\n`);
  } catch (error) {
    failed += 1;
    process.stdout.write(`FAIL  ${property.name}\n${(error as Error).message}\n`);
  }
}
process.stdout.write(`${total} cases over ${PROPERTIES.length} parsers, ${failed} failing\n`);
process.exitCode = failed === 0 ? 0 : 1;
