import { z } from 'zod';
import { SIZE_SUFFIXES, tryParseBytes, tryParseDurationMs } from './units.js';

/**
 * The message of a union of a string and a number that got neither: zod's own says only "Invalid
 * input", which leaves a user guessing what the field takes (a trace's missing `memory`).
 */
function neither(what: string) {
  return (issue: { readonly input?: unknown }): string =>
    issue.input === undefined ? `required: ${what}` : `expected ${what}, got ${JSON.stringify(issue.input)}`;
}

const A_DURATION = 'a duration like "30s", "5m" or "1h"';
const A_SIZE = `a size like "600M" or "2Gi" (${SIZE_SUFFIXES})`;

/** A duration as people write it ("30s", "5m", "1h30m", or a number of seconds), parsed to ms. */
export function durationMs() {
  return z.union([z.string(), z.number()], { error: neither(A_DURATION) }).transform((value, ctx) => {
    const ms = tryParseDurationMs(value);
    if (ms === undefined) {
      ctx.addIssue({
        code: 'custom',
        message: `expected ${A_DURATION}, got ${JSON.stringify(value)}`,
      });
      return z.NEVER;
    }
    return ms;
  });
}

/** A size as Toil reads it ("600M" decimal, "2Gi" binary, or a number of bytes), parsed to bytes. */
export function sizeBytes() {
  return z.union([z.string(), z.number()], { error: neither(A_SIZE) }).transform((value, ctx) => {
    const bytes = tryParseBytes(value);
    if (bytes === undefined) {
      ctx.addIssue({
        code: 'custom',
        message: `expected ${A_SIZE}, got ${JSON.stringify(value)}`,
      });
      return z.NEVER;
    }
    return bytes;
  });
}
