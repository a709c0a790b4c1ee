import type { z } from 'zod';
import { UserInputError } from './errors.js';

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

/** `scaler.nodeTypes[2].maxNodes: Too small: expected number to be >=0`, one line per zod issue. */
export function describeZodIssues(
  issues: readonly z.core.$ZodIssue[],
  prefix: readonly (string | number)[] = [],
): string[] {
  return issues.map((issue) => {
    const path = formatPath([...prefix, ...issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p))]);
    return path === '' ? issue.message : `${path}: ${issue.message}`;
  });
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
