/**
 * Mesos JSON, read and written without losing integers. Mesos writes int64 fields as plain JSON
 * numbers, and its nanosecond timestamps (~1.7e18) are beyond 2^53, where `JSON.parse` rounds.
 * `parseMesosJson` turns every integer literal too large to be exact in a double into a `bigint`
 * (smaller ones stay numbers), and `stringifyMesosJson` writes bigints back as bare digits.
 */

const BIG_MARK = '\u0000bigint:';

/** A JSON value as Mesos sends it, with exact big integers. */
export type MesosJson =
  null | boolean | number | bigint | string | MesosJson[] | { [key: string]: MesosJson };

/**
 * Parses JSON text; integer literals outside ±(2^53−1) become bigints. Throws a SyntaxError for
 * invalid JSON, exactly as `JSON.parse` does.
 */
export function parseMesosJson(text: string): unknown {
  if (!/\d{16}/.test(text)) return JSON.parse(text);
  return JSON.parse(markBigIntegers(text), (_key, value: unknown) =>
    typeof value === 'string' && value.startsWith(BIG_MARK) ? BigInt(value.slice(BIG_MARK.length)) : value,
  );
}

/** Wraps each unsafe integer literal (outside strings) in a marked string, for the reviver. */
function markBigIntegers(text: string): string {
  let out = '';
  let last = 0;
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      i++;
      while (i < n) {
        const d = text.charCodeAt(i);
        if (d === 0x5c /* \ */) i += 2;
        else if (d === 0x22) {
          i++;
          break;
        } else i++;
      }
      continue;
    }
    if (c === 0x2d /* - */ || (c >= 0x30 && c <= 0x39)) {
      const start = i;
      i++;
      while (i < n) {
        const d = text.charCodeAt(i);
        if ((d >= 0x30 && d <= 0x39) || d === 0x2e || d === 0x65 || d === 0x45 || d === 0x2b || d === 0x2d)
          i++;
        else break;
      }
      const literal = text.slice(start, i);
      if (/^-?\d{16,}$/.test(literal) && !Number.isSafeInteger(Number(literal))) {
        out += text.slice(last, start) + JSON.stringify(BIG_MARK + literal);
        last = i;
      }
      continue;
    }
    i++;
  }
  return out + text.slice(last);
}

/** JSON text of a value that may hold bigints (written as bare integer literals). */
export function stringifyMesosJson(value: unknown): string {
  let sawBig = false;
  const text = JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v === 'bigint') {
      sawBig = true;
      return BIG_MARK + v.toString();
    }
    return v;
  });
  if (!sawBig) return text;
  return text.replace(/"\\u0000bigint:(-?\d+)"/g, '$1');
}

/** A Mesos integer field (number, bigint or numeric string, all of which Mesos accepts) as a bigint. */
export function toBigInt(value: unknown): bigint | undefined {
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return BigInt(Math.trunc(value));
  if (typeof value === 'string' && /^-?\d+$/.test(value)) return BigInt(value);
  return undefined;
}

/** A Mesos number field (number, bigint or numeric string) as a JS number (approximate above 2^53). */
export function toNumber(value: unknown): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value)))
    return Number(value);
  return undefined;
}
