import t from 'tap';
import {
  decimalText,
  formatBytes,
  formatBytesAsUnitOf,
  formatBytesIn,
  formatDuration,
  SIZE_SUFFIXES,
  tryParseBytes,
  tryParseDurationMs,
  writtenUnits,
} from '../../src/common/units.js';

t.test("sizes parse as Toil's human2bytes parses them", async (t) => {
  const rows: [family: string, input: string | number, bytes: number | undefined][] = [
    ['decimal: K/M/G/T/P/E are powers of 1000', '600M', 600_000_000],
    ['decimal', '2G', 2_000_000_000],
    ['decimal', '1.5T', 1.5e12],
    ['decimal', '100K', 100_000],
    ['decimal', '1P', 1e15],
    ['decimal', '1E', 1e18],
    ['decimal with B', '2GB', 2_000_000_000],
    ['decimal with B', '3kb', 3000],
    ['decimal with B', '1EB', 1e18],
    ['binary: Ki/Mi/Gi/Ti/Pi/Ei are powers of 1024', '2Gi', 2 * 2 ** 30],
    ['binary', '600Mi', 600 * 2 ** 20],
    ['binary', '100Ki', 102_400],
    ['binary', '1.5Ti', 1.5 * 2 ** 40],
    ['binary', '1Pi', 2 ** 50],
    ['binary', '1Ei', 2 ** 60],
    ['binary with B', '512MiB', 512 * 2 ** 20],
    ['binary with B', '2GiB', 2 * 2 ** 30],
    ['binary, fraction floored', '2.9Gi', Math.floor(2.9 * 2 ** 30)],
    ['any case', '2g', 2_000_000_000],
    ['any case', '2gi', 2 * 2 ** 30],
    ['any case', '2GIB', 2 * 2 ** 30],
    ['any case', '2gIb', 2 * 2 ** 30],
    ['any case', '2Mb', 2_000_000],
    ['space before the suffix', '2 G', 2_000_000_000],
    ['space before the suffix', '2 Gi', 2 * 2 ** 30],
    ['digits grouped by underscores, as Python reads a number', '2_000M', 2_000_000_000],
    ['digits grouped by underscores', '1_048_576', 1_048_576],
    ['digits grouped by underscores', '1_0.2_5Gi', Math.floor(10.25 * 2 ** 30)],
    ['refused: two underscores in a row', '2__000M', undefined],
    ['refused: an underscore first', '_2000M', undefined],
    ['refused: an underscore last', '2000_M', undefined],
    ['refused: an underscore by the point', '2_.5G', undefined],
    ['bare number: bytes', '1024', 1024],
    ['bare number: bytes', '0', 0],
    ['bare number: bytes', 4096, 4096],
    ['B alone: bytes', '2b', 2],
    ['B alone: bytes', '2B', 2],
    ['refused: i without a prefix', '2i', undefined],
    ['refused: B before i', '2Bi', undefined],
    ['refused: i after B', '2Gbi', undefined],
    ['refused: no such prefix', '2X', undefined],
    ['refused: no such prefix', '2Z', undefined],
    ['refused: no such prefix', '2Zi', undefined],
    ['refused: words', 'two gigs', undefined],
    ['refused: words', '2 gigabytes', undefined],
    ['refused: suffix without a number', 'G', undefined],
    ['refused: negative', '-1G', undefined],
    ['refused: empty', '', undefined],
    ['refused: not a number', Number.NaN, undefined],
    ['refused: negative number', -1, undefined],
  ];
  for (const [family, input, want] of rows)
    t.equal(tryParseBytes(input), want, `${family}: ${JSON.stringify(input)}`);
});

t.test('the suffixes a refusal lists are the ones accepted', async (t) => {
  for (const suffix of SIZE_SUFFIXES.match(/\b[KMGTPE]i?B?\b/g) ?? [])
    t.not(tryParseBytes(`1${suffix}`), undefined, `1${suffix}`);
  t.match(SIZE_SUFFIXES, /K\/KB.*E\/EB \(powers of 1000\).*Ki\/KiB.*Ei\/EiB \(powers of 1024\)/);
});

t.test('durations parse to milliseconds; a bare number is seconds', async (t) => {
  const rows: [string | number, number | undefined][] = [
    ['30s', 30_000],
    ['5m', 300_000],
    ['1h30m', 5_400_000],
    ['250ms', 250],
    ['2d', 172_800_000],
    ['60', 60_000],
    [1.5, 1500],
    ['1h 30m', undefined],
    ['soon', undefined],
    ['5x', undefined],
  ];
  for (const [input, want] of rows) t.equal(tryParseDurationMs(input), want, `${JSON.stringify(input)}`);
});

t.test('sizes and durations format for people', async (t) => {
  t.equal(formatBytes(512), '512 B');
  t.equal(formatBytes(2 * 2 ** 30), '2.0 GiB');
  t.equal(formatBytes(2e9), '1.9 GiB', 'always binary, named as such');
  // A size a person wrote, in the units it was written in: 2G is Toil's 2 × 10^9 bytes.
  const written = [
    [2e9, 'decimal', '2.0 GB'],
    [1.5e9, 'decimal', '1.5 GB'],
    [6e8, 'decimal', '600.0 MB'],
    [2 * 2 ** 30, 'binary', '2.0 GiB'],
    [2 ** 20, 'binary', '1.0 MiB'],
    // 1000 KiB and 1.024 MB: binary shows it in one place, so binary.
    [1_024_000, 'binary', '1000.0 KiB'],
    [123_456_789, 'binary', '117.7 MiB'],
    [512, 'binary', '512 B'],
    // Toil's 1K: 1000 bytes, below binary's first unit, so in the units it was written in.
    [1000, 'decimal', '1.0 KB'],
    [1023, 'binary', '1023 B'],
  ] as const;
  for (const [bytes, units, text] of written) {
    t.equal(writtenUnits(bytes), units, `${bytes}: ${units}`);
    t.equal(formatBytesIn(bytes, units), text, `${bytes}: ${text}`);
  }
  t.equal(formatBytesIn(3e9, 'binary'), '2.8 GiB', 'any size in the units asked for');
  t.equal(formatBytesAsUnitOf(2 ** 20, 1000, 'decimal'), '1048.6 KB', "in the one unit of 1000's 1.0 KB");
  t.equal(formatBytesAsUnitOf(3 * 2 ** 30, 2 * 2 ** 30, 'binary'), '3.0 GiB');
  t.equal(formatBytesAsUnitOf(2048, 512, 'binary'), '2048 B', "512's unit is the byte");
  t.equal(formatDuration(350), '350ms');
  t.equal(formatDuration(45_000), '45s');
  t.equal(formatDuration(3_720_000), '1h02m');
});

t.test(
  'decimalText writes the shortest decimal that reads back as the number, never in exponent form',
  async (t) => {
    const cases: [number, string][] = [
      [0.0123456789, '0.0123456789'],
      [0.1, '0.1'],
      [1e-2, '0.01'],
      [0.05, '0.05'],
      [2, '2'],
      [1.5e-7, '0.00000015'],
      [1e-7, '0.0000001'],
      [1.2345e21, '1234500000000000000000'],
    ];
    for (const [n, text] of cases) {
      t.equal(decimalText(n), text, `${n} → ${text}`);
      t.equal(Number(decimalText(n)), n, `${text} reads back as ${n}`);
    }
  },
);
