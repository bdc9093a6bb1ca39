// @xstate/machine-extractor, the parser behind the Stately VS Code extension
// and @xstate/cli, reads machine source files with Babel. Its own runtime
// needs xstate 4's internals (`xstate/lib/actions`, `xstate/lib/types`),
// which xstate 5 does not export: the extension bundles xstate 4 for it. Here
// the extractor alone is pointed at xstate 4 (the `xstate4` dev dependency);
// everything else keeps xstate 5.
import { createRequire, registerHooks } from 'node:module';

registerHooks({
  resolve(specifier, context, nextResolve) {
    if (specifier.startsWith('xstate/lib/') && context.parentURL?.includes('/@xstate/machine-extractor/')) {
      return nextResolve(specifier.replace(/^xstate\//, 'xstate4/'), context);
    }
    return nextResolve(specifier, context);
  },
});

const require = createRequire(import.meta.url);

/** What the extractor gives for one machine call in a file. */
export interface ExtractedMachine {
  toConfig(): Record<string, unknown> | undefined;
}

/** The extractor's `extractMachinesFromFile(source)`. */
export const extractMachinesFromFile = (require('@xstate/machine-extractor') as {
  extractMachinesFromFile(source: string): { machines: Array<ExtractedMachine | undefined> } | null;
}).extractMachinesFromFile;
