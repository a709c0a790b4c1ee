import type { z } from 'zod';
import { UserInputError } from './errors.js';
import { suggestNames } from './suggest.js';

/**
 * A YAML parser's message in one line: the problem and where ("Map keys must be unique at line 3,
 * column 1"), then the line it points at, from the code frame under it, which a first line alone
 * would drop.
 */
export function yamlProblem(message: string): string {
  const lines = message.split('\n');
  const head = (lines[0] ?? '').replace(/:$/, '');
  const caret = lines.findIndex((l, i) => i > 0 && /^\s*\^+\s*$/.test(l));
  const pointed = caret > 0 ? lines[caret - 1]?.trim() : undefined;
  return pointed ? `${head} (the line reads '${pointed}')` : head;
}

/**
 * A config (file, flags, environment) that failed validation. The message lists every problem,
 * one per line, each with the path of the field it concerns, so a person fixes them all at once.
 */
export class ConfigError extends UserInputError {
  readonly problems: readonly string[];

  constructor(source: string, problems: readonly string[]) {
    super('CONFIG_INVALID', `${source} is invalid:\n${problems.map((p) => `  - ${p}`).join('\n')}`, {
      source,
    });
    this.problems = problems;
  }
}

/**
 * `scaler.nodeTypes[2].maxNodes: Too small: expected number to be >=0`, one line per zod issue.
 * Given the schema, an unknown key is named with the known ones it is closest to
 * (`Unrecognized key: "scalr" (did you mean scaler?)`).
 */
export function describeZodIssues(
  issues: readonly z.core.$ZodIssue[],
  prefix: readonly (string | number)[] = [],
  schema?: z.ZodType,
): string[] {
  return issues.map((issue) => {
    const at = issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p));
    const path = formatPath([...prefix, ...at]);
    let message = issue.message;
    if (issue.code === 'unrecognized_keys' && schema) {
      const known = knownKeysAt(schema, at);
      const matches = issue.keys.flatMap((k) => suggestNames(k, known, 1));
      if (matches.length > 0) message += ` (did you mean ${matches.join(', ')}?)`;
    }
    return path === '' ? message : `${path}: ${message}`;
  });
}

/** The keys the object schema at `path` takes (through optional, default, array and the like). */
function knownKeysAt(schema: z.ZodType, path: readonly (string | number)[]): string[] {
  let s: unknown = schema;
  const def = (x: unknown): Record<string, unknown> =>
    (x as { _zod?: { def?: Record<string, unknown> } })._zod?.def ?? {};
  const unwrap = (): void => {
    for (let d = def(s); d['innerType'] !== undefined || d['in'] !== undefined; d = def(s))
      s = d['innerType'] ?? d['in'];
  };
  for (const part of path) {
    unwrap();
    const d = def(s);
    if (typeof part === 'number') s = d['element'];
    else s = (d['shape'] as Record<string, unknown> | undefined)?.[part];
    if (s === undefined) return [];
  }
  unwrap();
  const keysOf = (x: unknown): string[] =>
    Object.keys((def(x)['shape'] as Record<string, unknown> | undefined) ?? {});
  // A union of objects (the provisioner's kinds): the keys any of them takes.
  const options = def(s)['options'] as unknown[] | undefined;
  return options ? [...new Set(options.flatMap(keysOf))] : keysOf(s);
}

export function formatPath(path: readonly (string | number)[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? part : `.${part}`;
  }
  return out;
}

/** Deep-freezes a parsed config so nothing can change it after validation. */
export function deepFreeze<T>(value: T): Readonly<T> {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const key of Object.keys(value)) deepFreeze((value as Record<string, unknown>)[key]);
    Object.freeze(value);
  }
  return value;
}
