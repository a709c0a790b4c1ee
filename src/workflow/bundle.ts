import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'esbuild';
import { UserInputError } from '../common/errors.js';

/** The workflow file could not be bundled (a syntax error, an import that does not resolve). */
export class WorkflowBundleError extends UserInputError {
  constructor(file: string, why: string) {
    super('WORKFLOW_BUNDLE', `cannot bundle workflow ${file}: ${why}`, { file });
  }
}

/**
 * Bundles a workflow file and everything it imports into one ES module, so a worker anywhere
 * needs only the job store to run it. 'toil-ts' is resolved to this package's own API module and
 * bundled in: it is small and holds no runtime, and it identifies its values through
 * Symbol.for brands and a globalThis registry, so the worker's own copy recognises them.
 */
export async function bundleWorkflow(entry: string): Promise<Uint8Array> {
  const api = apiEntry();
  const toilTs: Plugin = {
    name: 'toil-ts',
    setup(b) {
      b.onResolve({ filter: /^toil-ts$/ }, () => ({ path: api }));
    },
  };
  try {
    const result = await build({
      entryPoints: [entry],
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      write: false,
      outfile: 'workflow.mjs',
      logLevel: 'silent',
      plugins: [toilTs],
      // Bundled CommonJS dependencies may call require() for Node built-ins.
      banner: {
        js: "import { createRequire as __toilCreateRequire } from 'node:module'; const require = __toilCreateRequire(import.meta.url);",
      },
    });
    const out = result.outputFiles[0];
    if (!out) throw new WorkflowBundleError(entry, 'esbuild produced no output');
    return out.contents;
  } catch (e) {
    if (e instanceof WorkflowBundleError) throw e;
    const errors = (
      e as { errors?: { text: string; location?: { file: string; line: number; column: number } | null }[] }
    ).errors;
    const first = errors?.[0];
    if (first) {
      const where = first.location
        ? ` at ${first.location.file}:${first.location.line}:${first.location.column}`
        : '';
      throw new WorkflowBundleError(entry, `${first.text}${where}`);
    }
    throw new WorkflowBundleError(entry, (e as Error).message);
  }
}

/** This package's API entry: the compiled index.js, or index.ts when running from source. */
function apiEntry(): string {
  const js = fileURLToPath(new URL('./index.js', import.meta.url));
  return existsSync(js) ? js : fileURLToPath(new URL('./index.ts', import.meta.url));
}
