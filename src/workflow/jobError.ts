import { readdirSync, realpathSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Directories of code whose frames a stack leaves out, matched by the frame's file as written and
 * as it really is: Node prints a module's real path, so the frames of a directory reached through a
 * symlink never start with its spelling.
 */
export class CodeDirs {
  private readonly dirs: readonly string[];
  /** File → its real path, for the files frames name (a few hundred at most in practice). */
  private readonly realPaths = new Map<string, string>();

  constructor(dirs: readonly string[]) {
    this.dirs = [...new Set(dirs.flatMap((d) => [d, realPathOr(d)]))].map((d) => `${d.replace(/\/+$/, '')}/`);
  }

  /** Whether the frame (`    at f (/path/file.js:1:2)`) is of code in one of the directories. */
  holds(frame: string): boolean {
    if (this.dirs.some((d) => frame.includes(d))) return true;
    const file = framePath(frame);
    if (file === undefined) return false;
    let real = this.realPaths.get(file);
    if (real === undefined) {
      if (this.realPaths.size >= 10_000) this.realPaths.clear();
      real = realPathOr(file);
      this.realPaths.set(file, real);
    }
    return this.dirs.some((d) => real.startsWith(d));
  }
}

/** The path itself when it cannot be resolved (gone, or a source map's name of a file never here). */
function realPathOr(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

/** The absolute file a stack frame names (a path or a file: URL), if any. */
function framePath(frame: string): string | undefined {
  const m = /\(?((?:file:\/\/)?\/[^()]*?):\d+:\d+\)?$/.exec(frame.trim());
  if (!m) return undefined;
  try {
    return m[1]!.startsWith('file:') ? fileURLToPath(m[1]!) : m[1]!;
  } catch {
    return undefined;
  }
}

/**
 * The code of the package at `root` and its dependencies: its `src/`, `dist/`, `bin/` and
 * `node_modules/`, and the packages of that node_modules that are symlinks (npm link, pnpm), whose
 * modules Node runs from where they really are.
 */
export function packageCode(root: string): CodeDirs {
  const nodeModules = join(root, 'node_modules');
  return new CodeDirs([
    ...['src', 'dist', 'bin'].map((d) => join(root, d)),
    nodeModules,
    ...linkedPackages(nodeModules),
  ]);
}

/** This package's code (this file is in src/workflow, or dist/src/workflow when built), found on first use. */
let thisPackage: CodeDirs | undefined;
function thisPackageCode(): CodeDirs {
  if (!thisPackage) {
    const src = dirname(dirname(fileURLToPath(import.meta.url)));
    thisPackage = packageCode(basename(dirname(src)) === 'dist' ? dirname(dirname(src)) : dirname(src));
  }
  return thisPackage;
}

/** The entries of a node_modules (and of its `@scope/` dirs) that are symlinks. */
function linkedPackages(nodeModules: string, depth = 0): string[] {
  let entries;
  try {
    entries = readdirSync(nodeModules, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries.flatMap((e) => {
    const path = join(nodeModules, e.name);
    if (e.isSymbolicLink()) return [path];
    return depth === 0 && e.isDirectory() && e.name.startsWith('@') ? linkedPackages(path, 1) : [];
  });
}

const MAX_FRAMES = 12;

/**
 * What a person needs from an error a workflow's code threw: its message and the frames of the
 * user's own source (mapped through the bundle's source map), without the frames of Node and of
 * this package (`ownCode`: its code and its dependencies) that called into it. When no frame is the
 * user's, the first frame stays, so the reader still sees where it came from, unless `ownFrame` is
 * false: an error of ours whose message says all of the user's mistake needs no frame of ours.
 */
export function userStack(e: unknown, ownCode: CodeDirs = thisPackageCode(), ownFrame = true): string {
  if (typeof e === 'string') return cutMessage(e);
  // `throw err` with err undefined, or a library's rejection with a plain object, read as a bare
  // "undefined" or "{}": say it was a thrown value, which carries no line to point at.
  if (!(e instanceof Error))
    return cutMessage(
      `${JSON.stringify(e) ?? String(e)} (a thrown ${e === null ? 'null' : typeof e}, not an Error, so no stack to show where: throw new Error(...) instead)`,
    );
  const stack = e.stack ?? `${e.name}: ${e.message}`;
  const lines = stack.split('\n');
  const firstFrame = lines.findIndex((l) => /^\s+at /.test(l));
  if (firstFrame < 0) return cutMessage(stack);
  const frames = lines.slice(firstFrame);
  const own = frames.filter((f) => !isRuntimeFrame(f, ownCode));
  // A built-in's frame (`at JSON.stringify (<anonymous>)`) stays among the user's, but alone it is
  // not the user's code: ours may have called it.
  const kept = own.some((f) => !f.trimEnd().endsWith('(<anonymous>)'))
    ? own
    : frames.slice(0, ownFrame ? 1 : 0);
  // Deep recursion would make the stack the whole log; its top says where.
  const shown =
    kept.length > MAX_FRAMES
      ? [...kept.slice(0, MAX_FRAMES), `    … ${kept.length - MAX_FRAMES} more frame(s)`]
      : kept;
  return [cutMessage(lines.slice(0, firstFrame).join('\n')), ...shown].join('\n');
}

/** The most of an error's message a failure keeps (its frames come after it). */
export const MAX_ERROR_MESSAGE_CHARS = 64 * 1024;

/**
 * An error's message, its start kept when it is longer than MAX_ERROR_MESSAGE_CHARS: the failure
 * log and the leader hold it whole, and a message made of a whole data set (`new
 * Error(JSON.stringify(rows))`) took a leader to 268 MB at 20 MB; a few hundred MB would end a
 * leader daemon and every workflow it runs.
 */
function cutMessage(text: string): string {
  if (text.length <= MAX_ERROR_MESSAGE_CHARS) return text;
  return `${text.slice(0, MAX_ERROR_MESSAGE_CHARS)}… [${text.length - MAX_ERROR_MESSAGE_CHARS} more characters of the message left out]`;
}

/** Whether an error's stack has a frame of the user's own code (not Node's, not this package's). */
export function hasUserFrame(e: unknown, ownCode: CodeDirs = thisPackageCode()): boolean {
  if (!(e instanceof Error)) return false;
  return (e.stack ?? '')
    .split('\n')
    .some((l) => /^\s+at /.test(l) && !isRuntimeFrame(l, ownCode) && !l.trimEnd().endsWith('(<anonymous>)'));
}

function isRuntimeFrame(frame: string, ownCode: CodeDirs): boolean {
  return (
    frame.includes('node:internal') ||
    // What calls a workflow's start() through a script (breakableByCtrlC in workflowCode.ts).
    frame.includes('(node:vm:') ||
    ownCode.holds(frame) ||
    frame.includes('/node_modules/toil-ts/') ||
    /\bat (async )?Promise\.all/.test(frame)
  );
}

/** The first line of an error text (its message), for summaries that must stay one line. */
export function firstLine(text: string): string {
  return text.split('\n', 1)[0] ?? '';
}
