import { z } from 'zod';
import { tryParseBytes, tryParseDurationMs } from './units.js';

/** A duration as people write it ("30s", "5m", "1h30m", or a number of seconds), parsed to ms. */
export function durationMs() {
  return z.union([z.string(), z.number()]).transform((value, ctx) => {
    const ms = tryParseDurationMs(value);
    if (ms === undefined) {
      ctx.addIssue({
        code: 'custom',
        message: `expected a duration like "30s", "5m" or "1h", got ${JSON.stringify(value)}`,
      });
      return z.NEVER;
    }
    return ms;
  });
}

/** A size as people write it ("600M", "2G", binary like Toil, or a number of bytes), parsed to bytes. */
export function sizeBytes() {
  return z.union([z.string(), z.number()]).transform((value, ctx) => {
    const bytes = tryParseBytes(value);
    if (bytes === undefined) {
      ctx.addIssue({
        code: 'custom',
        message: `expected a size like "600M" or "2G", got ${JSON.stringify(value)}`,
      });
      return z.NEVER;
    }
    return bytes;
  });
}
