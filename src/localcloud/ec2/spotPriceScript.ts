/**
 * The scripted prices of the local spot market (`toil localcloud --spot-price-file`), apart from
 * the market itself: zod (a hundred modules) loads only in a local cloud given a script.
 */
import { z } from 'zod';
import { tryParseDurationMs } from '../../common/units.js';
import type { ScriptedPrice } from './spotMarket.js';

const ScriptEntry = z
  .object({
    instanceType: z.string().min(1),
    zone: z.string().min(1).optional(),
    /** "+90s" (after the market opened), an ISO time, or ms since the epoch. */
    at: z.union([z.string(), z.number()]),
    price: z.number().positive(),
  })
  .strict();

/**
 * Reads a scripted price file: a JSON list of `{instanceType, zone?, at, price}` where `at` is
 * "+90s"/"+5m" after the market opened, an ISO time or ms since the epoch. Throws a RangeError
 * naming the entry and field on any mistake.
 */
export function parseSpotPriceScript(text: string, openedAt: number): ScriptedPrice[] {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new RangeError(`not JSON: ${(e as Error).message}`, { cause: e });
  }
  const parsed = z.array(ScriptEntry).safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new RangeError(`entry [${issue.path.join('].')}: ${issue.message}`);
  }
  return parsed.data.map((e, i) => {
    let at: number | undefined;
    if (typeof e.at === 'number') at = e.at;
    else if (e.at.startsWith('+')) {
      const d = tryParseDurationMs(e.at.slice(1));
      at = d === undefined ? undefined : openedAt + d;
    } else at = Date.parse(e.at);
    if (at === undefined || !Number.isFinite(at))
      throw new RangeError(
        `entry [${i}].at: expected "+90s", an ISO time or ms since the epoch, got ${JSON.stringify(e.at)}`,
      );
    return { instanceType: e.instanceType, ...(e.zone ? { zone: e.zone } : {}), at, price: e.price };
  });
}
