import { z } from 'zod';
import { shownValue } from './configErrors.js';
import { SIZE_SUFFIXES, tryParseBytes, tryParseDurationMs } from './units.js';

/**
 * The message of a union of a string and a number that got neither: zod's own says only "Invalid
 * input", which leaves a user guessing what the field takes (a trace's missing `memory`).
 */
function neither(what: string) {
  return (issue: { readonly input?: unknown }): string =>
    issue.input === undefined ? `required: ${what}` : `expected ${what}, got ${shownValue(issue.input)}`;
}

const A_DURATION = 'a duration like "30s", "5m" or "1h"';
const A_SIZE = `a size like "600M" or "2Gi" (${SIZE_SUFFIXES})`;

/**
 * A string or a number read by `parse` (undefined: not one), each failure said in `what`'s words:
 * a missing or mistyped field through `neither`, a string `parse` refuses here.
 */
function parsedAs(what: string, parse: (value: string | number) => number | undefined) {
  return z.union([z.string(), z.number()], { error: neither(what) }).transform((value, ctx) => {
    const parsed = parse(value);
    if (parsed === undefined) {
      ctx.addIssue({ code: 'custom', message: `expected ${what}, got ${shownValue(value)}` });
      return z.NEVER;
    }
    return parsed;
  });
}

/** A duration as people write it ("30s", "5m", "1h30m", or a number of seconds), parsed to ms. */
export function durationMs() {
  return parsedAs(A_DURATION, tryParseDurationMs);
}

/** A size as Toil reads it ("600M" decimal, "2Gi" binary, or a number of bytes), parsed to bytes. */
export function sizeBytes() {
  return parsedAs(A_SIZE, tryParseBytes);
}
