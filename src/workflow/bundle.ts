import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build, type Plugin } from 'esbuild';
import { UserInputError } from '../common/errors.js';

/** The workflow file could not be bundled (a syntax error, an import that does not resolve). */
export class WorkflowBundleError extends UserInputError {
  /** What esbuild said, without the file: a bundling process passes it on to its parent. */
  readonly why: string;

  constructor(file: string, why: string) {
    super('WORKFLOW_BUNDLE', `cannot bundle workflow ${file}: ${why}`, { file });
    this.why = why;
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
      // An inline source map (names and lines, not the sources themselves) lets a failed job's
      // stack name the user's file and line instead of a line of the bundle.
      sourcemap: 'inline',
      sourcesContent: false,
      absWorkingDir: dirname(resolve(entry)),
      plugins: [toilTs],
      // Bundled CommonJS dependencies may call require() for Node built-ins.
      banner: {
        js: "import { createRequire as __toilCreateRequire } from 'node:module'; const require = __toilCreateRequire(import.meta.url);",
      },
    });
    const out = result.outputFiles[0];
    if (!out) throw new WorkflowBundleError(entry, 'esbuild produced no output');
    return withAbsoluteSources(out.text, dirname(resolve(entry)));
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

/**
 * The bundle runs from a cache file far from the user's sources, and Node resolves a source map's
 * relative `sources` against the file holding it: they are made absolute `file:` URLs of the
 * machine that bundled the workflow, so a stack says `/home/me/sort.ts:42:11` on any node.
 */
function withAbsoluteSources(code: string, baseDir: string): Uint8Array {
  const marker = '//# sourceMappingURL=data:application/json;base64,';
  const at = code.lastIndexOf(marker);
  if (at < 0) return Buffer.from(code);
  const map = JSON.parse(Buffer.from(code.slice(at + marker.length).trim(), 'base64').toString('utf8')) as {
    sources?: string[];
  };
  map.sources = (map.sources ?? []).map((s) => pathToFileURL(resolve(baseDir, s)).href);
  return Buffer.from(`${code.slice(0, at)}${marker}${Buffer.from(JSON.stringify(map)).toString('base64')}\n`);
}
