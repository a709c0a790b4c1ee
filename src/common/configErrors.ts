import type { z } from 'zod';
import { UserInputError } from './errors.js';
import { editDistance, suggestNames } from './suggest.js';

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

  /** `plural`: the source names several things (`these options are invalid:`). */
  constructor(source: string, problems: readonly string[], { plural = false } = {}) {
    super(
      'CONFIG_INVALID',
      `${source} ${plural ? 'are' : 'is'} invalid:\n${problems.map((p) => `  - ${p}`).join('\n')}`,
      { source },
    );
    this.problems = problems;
  }
}

/**
 * `scaler.nodeTypes[2].maxNodes: expected a whole number >= 0`, one line per zod issue. A number
 * out of its range is said in the project's words with the whole range it must lie in (`expected a
 * number from 0 to 1`), not zod's one violated bound. Given the schema, an unknown key is named
 * with the known ones it is closest to (`Unrecognized key: "scalr" (did you mean scaler?)`).
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
    // A schema's own message ('expected a job store locator: …') says more than any range; only
    // zod's stock wording is rewritten.
    const stock = /^(Too small|Too big|Invalid input)\b/.test(issue.message);
    const range = stock ? numberRangeOf(issue, schema ? schemaAt(schema, at) : undefined) : undefined;
    if (range !== undefined) message = `expected ${range}`;
    else if (stock && issue.code === 'too_small' && (issue.origin === 'array' || issue.origin === 'string'))
      message =
        issue.origin === 'string'
          ? `expected at least ${issue.minimum} character(s)`
          : `expected at least ${issue.minimum} entr${issue.minimum === 1 ? 'y' : 'ies'}`;
    // A value outside a list of names: zod says 'Invalid option: expected one of "cost"|"speed"'.
    // The input is there when the schema was parsed with reportInput.
    else if (issue.code === 'invalid_value' && /^Invalid option\b/.test(issue.message)) {
      const names = issue.values.map(String);
      message = `expected one of ${names.join(', ')}`;
      if ('input' in issue) {
        message += `, got ${shownValue(issue.input)}`;
        const near = typeof issue.input === 'string' ? nearName(issue.input, names) : undefined;
        if (near !== undefined) message += ` (did you mean ${near}?)`;
      }
    }
    // A field left out: zod says "Invalid input: expected number, received undefined".
    else if (stock && issue.code === 'invalid_type' && /received undefined$/.test(issue.message))
      message = REQUIRED_WORDS[issue.expected]
        ? `required: ${REQUIRED_WORDS[issue.expected]}`
        : 'required, and missing';
    // A field of the wrong type ("cores": "2"): zod says "Invalid input: expected number, received string".
    else if (stock && issue.code === 'invalid_type') {
      const received = /received (\w+)$/.exec(issue.message)?.[1];
      if (received !== undefined)
        message = `expected ${REQUIRED_WORDS[issue.expected] ?? issue.expected}, got ${RECEIVED_WORDS[received] ?? received}`;
    }
    if (issue.code === 'unrecognized_keys' && schema) {
      const known = knownKeysAt(schema, at);
      const matches = issue.keys.flatMap((k) => suggestNames(k, known, 1));
      if (matches.length > 0) message += ` (did you mean ${matches.join(', ')}?)`;
    }
    return path === '' ? message : `${path}: ${message}`;
  });
}

/**
 * The one name of a short list a value was surely meant as: the same but for case or one typo, or
 * a part of it (`classic` for toil-classic). Not the nearest at any distance: among a few short
 * names, `fast` is two edits from `cost`, which is not what it asked for.
 */
function nearName(value: string, names: readonly string[]): string | undefined {
  const v = value.trim().toLowerCase();
  return (
    names.find((n) => editDistance(v, n.toLowerCase()) <= 1) ??
    (v.length >= 4 ? names.find((n) => n.toLowerCase().includes(v)) : undefined)
  );
}

/**
 * A value as a message shows what was given: its JSON, but a number JSON cannot write said as what
 * it is. YAML and JSON read 1e400 as Infinity, which JSON.stringify writes as null: a runtime of
 * 1e400 would be said to be null.
 */
export function shownValue(value: unknown): string {
  if (typeof value === 'number' && !Number.isFinite(value))
    return Number.isNaN(value) ? 'NaN (not a number)' : OUT_OF_RANGE;
  return JSON.stringify(value) ?? String(value);
}

const OUT_OF_RANGE = 'a number out of range (beyond ±1.8e308, the largest a number holds)';

/** What a required field of each stock type takes, in the words the rest of the messages use. */
const REQUIRED_WORDS: Readonly<Record<string, string>> = {
  number: 'a number',
  int: 'a whole number',
  string: 'a string',
  boolean: 'true or false',
  array: 'a list',
  object: 'a mapping',
};

/** What zod says it received, in the same words. */
const RECEIVED_WORDS: Readonly<Record<string, string>> = {
  number: 'a number',
  string: 'a string',
  boolean: 'a boolean',
  array: 'a list',
  object: 'a mapping',
  null: 'null',
  Infinity: OUT_OF_RANGE,
  NaN: 'NaN (not a number)',
};

interface NumberBounds {
  min?: { value: number; inclusive: boolean };
  max?: { value: number; inclusive: boolean };
  whole: boolean;
}

/**
 * "a number from 0 to 1", "a whole number >= 0", "a number > 0": what a number issue (out of range,
 * or not whole) expected, from the number schema's own checks when known (so both ends of a range
 * are named though zod reports the one crossed), else from the issue. Undefined for other issues.
 */
function numberRangeOf(issue: z.core.$ZodIssue, numberSchema: unknown): string | undefined {
  let bounds: NumberBounds;
  if (issue.code === 'too_big' || issue.code === 'too_small') {
    if (issue.origin !== 'number' && issue.origin !== 'int') return undefined;
    const crossed = {
      value: Number(issue.code === 'too_big' ? issue.maximum : issue.minimum),
      inclusive: issue.inclusive ?? true,
    };
    bounds =
      numberBounds(numberSchema) ??
      (issue.code === 'too_big'
        ? { max: crossed, whole: issue.origin === 'int' }
        : { min: crossed, whole: issue.origin === 'int' });
  } else if (issue.code === 'invalid_type' && issue.expected === 'int') {
    bounds = numberBounds(numberSchema) ?? { whole: true };
  } else return undefined;
  const kind = bounds.whole ? 'a whole number' : 'a number';
  const { min, max } = bounds;
  if (min?.inclusive && max?.inclusive) return `${kind} from ${min.value} to ${max.value}`;
  const ends = [
    min && `${min.inclusive ? '>=' : '>'} ${min.value}`,
    max && `${max.inclusive ? '<=' : '<'} ${max.value}`,
  ].filter((e) => e !== undefined);
  return ends.length === 0 ? kind : `${kind} ${ends.join(' and ')}`;
}

/** The bounds a zod number schema checks (`.min`, `.max`, `.positive`, `.int`…), if it is one. */
function numberBounds(schema: unknown): NumberBounds | undefined {
  const def = zodDef(schema);
  if (def['type'] !== 'number') return undefined;
  const bounds: NumberBounds = { whole: false };
  for (const check of (def['checks'] as unknown[] | undefined) ?? []) {
    const c = zodDef(check);
    const value = c['value'] as number;
    const inclusive = c['inclusive'] === true;
    if (c['check'] === 'number_format') bounds.whole = String(c['format']).includes('int');
    // The tighter of two bounds on one side wins, as zod applies both.
    if (c['check'] === 'greater_than' && (bounds.min === undefined || value >= bounds.min.value))
      bounds.min = { value, inclusive };
    if (c['check'] === 'less_than' && (bounds.max === undefined || value <= bounds.max.value))
      bounds.max = { value, inclusive };
  }
  return bounds;
}

function zodDef(x: unknown): Record<string, unknown> {
  return (x as { _zod?: { def?: Record<string, unknown> } } | undefined)?._zod?.def ?? {};
}

/** Through optional, default, pipes and unions: the schemas `s` is made of. */
function unwrapped(s: unknown): unknown[] {
  const d = zodDef(s);
  if (d['innerType'] !== undefined) return unwrapped(d['innerType']);
  // A pipe: either end may hold the shape (z.preprocess puts it at the out end).
  if (d['in'] !== undefined) return [...unwrapped(d['in']), ...unwrapped(d['out'])];
  const options = d['options'] as unknown[] | undefined;
  return options ? options.flatMap(unwrapped) : [s];
}

/** The schema a path leads to (the first union member along which it resolves), if any. */
function schemaAt(schema: unknown, path: readonly (string | number)[]): unknown {
  const [part, ...rest] = path;
  if (part === undefined) {
    const all = unwrapped(schema);
    return all.find((s) => numberBounds(s) !== undefined) ?? all[0];
  }
  for (const s of unwrapped(schema)) {
    const d = zodDef(s);
    const next =
      typeof part === 'number'
        ? d['element']
        : ((d['shape'] as Record<string, unknown> | undefined)?.[part] ?? d['valueType']);
    const found = next === undefined ? undefined : schemaAt(next, rest);
    if (found !== undefined) return found;
  }
  return undefined;
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
