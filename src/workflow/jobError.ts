import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * This package's code and its dependencies: `src/`, `dist/`, `bin/`, `node_modules/` of its root
 * (this file is in src/workflow, or dist/src/workflow when built).
 */
const OWN_CODE: readonly string[] = (() => {
  const src = dirname(dirname(fileURLToPath(import.meta.url)));
  const root = basename(dirname(src)) === 'dist' ? dirname(dirname(src)) : dirname(src);
  return ['src', 'dist', 'bin', 'node_modules'].map((d) => `${join(root, d)}/`);
})();

const MAX_FRAMES = 12;

/**
 * What a person needs from an error a workflow's code threw: its message and the frames of the
 * user's own source (mapped through the bundle's source map), without the frames of Node and of
 * this package that called into it. When no frame is the user's, the first frame stays, so the
 * reader still sees where it came from.
 */
export function userStack(e: unknown): string {
  if (!(e instanceof Error)) return typeof e === 'string' ? e : (JSON.stringify(e) ?? String(e));
  const stack = e.stack ?? `${e.name}: ${e.message}`;
  const lines = stack.split('\n');
  const firstFrame = lines.findIndex((l) => /^\s+at /.test(l));
  if (firstFrame < 0) return stack;
  const frames = lines.slice(firstFrame);
  const own = frames.filter((f) => !isRuntimeFrame(f));
  const kept = own.length > 0 ? own : frames.slice(0, 1);
  // Deep recursion would make the stack the whole log; its top says where.
  const shown =
    kept.length > MAX_FRAMES
      ? [...kept.slice(0, MAX_FRAMES), `    … ${kept.length - MAX_FRAMES} more frame(s)`]
      : kept;
  return [...lines.slice(0, firstFrame), ...shown].join('\n');
}

function isRuntimeFrame(frame: string): boolean {
  return (
    frame.includes('node:internal') ||
    OWN_CODE.some((dir) => frame.includes(dir)) ||
    frame.includes('/node_modules/toil-ts/') ||
    /\bat (async )?Promise\.all/.test(frame)
  );
}

/** The first line of an error text (its message), for summaries that must stay one line. */
export function firstLine(text: string): string {
  return text.split('\n', 1)[0] ?? '';
}
