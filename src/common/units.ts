/**
 * Sizes and durations as people write them. Sizes follow Toil's `human2bytes`
 * (toil.lib.conversions), so a memory request means the same thing it means in Toil: K, M, G, T,
 * P, E (and KB … EB) are decimal, 1000^n, so 2G = 2,000,000,000 bytes; Ki, Mi, Gi, Ti, Pi, Ei (and
 * KiB … EiB) are binary, 1024^n, so 2Gi = 2,147,483,648 bytes; any case; B or a bare number is
 * bytes. Anything else Toil refuses, and so do we. A bare number is seconds for a duration (Toil's
 * flags are seconds).
 */

const PREFIX_POWER: Readonly<Record<string, number>> = { k: 1, m: 2, g: 3, t: 4, p: 5, e: 6 };

/** Toil's size suffixes, for messages that refuse a size. */
export const SIZE_SUFFIXES =
  'suffixes B, K/KB, M/MB, G/GB, T/TB, P/PB, E/EB (powers of 1000) or Ki/KiB, Mi/MiB, Gi/GiB, ' +
  'Ti/TiB, Pi/PiB, Ei/EiB (powers of 1024), any case; a bare number is bytes';

// The number as Python's float() reads it, digits grouped by single underscores included
// (Toil's human2bytes takes "2_000M" as 2 GB).
const SIZE_RE = /^\s*(\d+(?:_\d+)*(?:\.(?:\d+(?:_\d+)*)?)?|\.\d+(?:_\d+)*)\s*(?:([kmgtpe])(i?)b?|b)?\s*$/i;

const BARE_NUMBER_RE = /^\s*(\d+(?:\.\d*)?|\.\d+)\s*$/;

const DECIMAL_RE = /^\s*[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?\s*$/i;

/**
 * A decimal number as Toil's argparse reads one (Python's float()), or NaN: Number() alone also
 * takes 0x10 (16), 0b1 and '' (0), which Toil refuses.
 */
export function decimalNumber(text: string): number {
  return DECIMAL_RE.test(text) ? Number(text) : NaN;
}

/**
 * A number as the shortest decimal that reads back as it, as Python's str() of a float writes it
 * (so a spot bid goes to EC2 as Toil sends it: 0.0123456789, not rounded to 0.012346), but never
 * in exponent form, which Python and JavaScript use for the very small and a price need not take.
 */
export function decimalText(n: number): string {
  const s = String(n);
  const m = /^(-?)(\d)(?:\.(\d+))?e([+-]\d+)$/.exec(s);
  if (!m) return s;
  const [, sign = '', lead = '', rest = '', power = '0'] = m;
  const digits = lead + rest;
  const exponent = Number(power);
  // At 1e21 and up, the exponent exceeds the 17 digits a double has: an integer, zeros appended.
  return exponent < 0
    ? `${sign}0.${'0'.repeat(-exponent - 1)}${digits}`
    : sign + digits.padEnd(exponent + 1, '0');
}

/**
 * A job's cores: a positive finite number, or one written as a string ("2", "0.5"), which Toil
 * takes too (its requirements parse strings); undefined for anything else. A size suffix ("1G") is
 * refused: Toil would read it as a billion cores.
 */
export function tryParseCores(input: unknown): number | undefined {
  const n = bareNumber(input);
  return n > 0 && Number.isFinite(n) ? n : undefined;
}

/** A number written without a unit: a number, or a string of one alone ("2", "0.5"); NaN for anything else. */
export function bareNumber(input: unknown): number {
  if (typeof input === 'number') return input;
  return typeof input === 'string' && BARE_NUMBER_RE.test(input) ? Number(input) : NaN;
}

/**
 * Parses "600M" (600,000,000), "2Gi" (2 GiB), "512MiB", "1.5T", "1024" into bytes; undefined if
 * malformed or the suffix is not one of Toil's.
 */
export function tryParseBytes(input: string | number): number | undefined {
  if (typeof input === 'number') return Number.isFinite(input) && input >= 0 ? Math.floor(input) : undefined;
  const m = SIZE_RE.exec(input);
  if (!m) return undefined;
  const prefix = m[2]?.toLowerCase();
  const factor = prefix === undefined ? 1 : (m[3] ? 1024 : 1000) ** PREFIX_POWER[prefix]!;
  return Math.floor(Number(m[1]!.replaceAll('_', '')) * factor);
}

const DURATION_UNIT_MS: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1000,
  sec: 1000,
  m: 60_000,
  min: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

const DURATION_PART_RE = /(\d+(?:\.\d+)?)\s*(ms|sec|min|s|m|h|d)/gi;

/** Parses "30s", "5m", "1h30m", "250ms", "2d" or a bare number of seconds into milliseconds. */
export function tryParseDurationMs(input: string | number): number | undefined {
  if (typeof input === 'number')
    return Number.isFinite(input) && input >= 0 ? Math.round(input * 1000) : undefined;
  const s = input.trim();
  if (s === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(s)) return Math.round(Number(s) * 1000);
  let total = 0;
  let consumed = 0;
  for (const m of s.matchAll(DURATION_PART_RE)) {
    if (m.index !== consumed) return undefined;
    total += Number(m[1]) * (DURATION_UNIT_MS[m[2]!.toLowerCase()] ?? NaN);
    consumed += m[0].length;
  }
  if (consumed !== s.length || !Number.isFinite(total)) return undefined;
  return Math.round(total);
}

/** "2.0 GiB", "600.0 MiB", "512 B": for messages a person reads. */
export function formatBytes(bytes: number): string {
  return formatBytesIn(bytes, 'binary');
}

/** Powers of 1000 (KB, MB, GB: Toil's K, M, G) or of 1024 (KiB, MiB, GiB: Toil's Ki, Mi, Gi). */
export type SizeUnits = 'decimal' | 'binary';

/**
 * The units a size a person wrote (a job's memory, --maxMemory) was most likely written in:
 * decimal when one decimal place of them shows it exactly and binary's does not (2G, which Toil's
 * human2bytes reads as 2,000,000,000 bytes, is 2.0 GB, not the 1.9 GiB that would leave the user
 * wondering what became of their 2G), else binary (2Gi, and any size no one wrote).
 */
export function writtenUnits(bytes: number): SizeUnits {
  const decimal = scaledBytes(bytes, 'decimal');
  const binary = scaledBytes(bytes, 'binary');
  // Below 1024, binary has bytes alone: 1K (1000 bytes) is 1.0 KB, not 1000 B.
  return decimal.unit > 0 && inTenths(decimal.value) && !(binary.unit > 0 && inTenths(binary.value))
    ? 'decimal'
    : 'binary';
}

/** "2.0 GB" or "1.9 GiB", as `units` say; bytes below the first unit as "512 B". */
export function formatBytesIn(bytes: number, units: SizeUnits): string {
  const { value, unit } = scaledBytes(bytes, units);
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${SIZE_UNIT_NAMES[units][unit]}`;
}

/**
 * `bytes` in the one unit `formatBytesIn` writes `like` in ("1048.6 KB" beside a 1.0 KB cap), so
 * two sizes a message sets side by side compare at a glance.
 */
export function formatBytesAsUnitOf(bytes: number, like: number, units: SizeUnits): string {
  const { unit } = scaledBytes(like, units);
  if (unit === 0) return `${bytes} B`;
  const value = bytes / (units === 'decimal' ? 1000 : 1024) ** unit;
  return `${value.toFixed(1)} ${SIZE_UNIT_NAMES[units][unit]}`;
}

const SIZE_UNIT_NAMES: Readonly<Record<SizeUnits, readonly string[]>> = {
  decimal: ['B', 'KB', 'MB', 'GB', 'TB', 'PB'],
  binary: ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'],
};

function scaledBytes(bytes: number, units: SizeUnits): { value: number; unit: number } {
  const step = units === 'decimal' ? 1000 : 1024;
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= step && unit < SIZE_UNIT_NAMES[units].length - 1) {
    value /= step;
    unit++;
  }
  return { value, unit };
}

/** Whether one decimal place shows `value` exactly. */
function inTenths(value: number): boolean {
  return Math.abs(value * 10 - Math.round(value * 10)) < 1e-6;
}

/** "1h02m", "45s", "350ms": for messages a person reads. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const totalSeconds = Math.round(ms / 1000);
  const h = Math.floor(totalSeconds / 3600);
  const m = Math.floor((totalSeconds % 3600) / 60);
  const s = totalSeconds % 60;
  if (h > 0) return `${h}h${String(m).padStart(2, '0')}m`;
  if (m > 0) return `${m}m${String(s).padStart(2, '0')}s`;
  return `${s}s`;
}

/** "1 job", "2 jobs", "0 jobs": a count with its noun in English, for a line every run ends with. */
export function countOf(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

/** An hourly price as messages write it: `$0.085/h` (to a hundredth of a cent at most, no trailing zeros). */
export function usdPerHour(price: number): string {
  return `$${Number(price.toFixed(4))}/h`;
}
