import t from 'tap';
import { formatBytes, formatDuration, tryParseBytes, tryParseDurationMs } from '../../src/common/units.js';

t.test('sizes parse as Toil parses them (binary suffixes)', async (t) => {
  const rows: [string | number, number | undefined][] = [
    ['600M', 600 * 2 ** 20],
    ['2G', 2 * 2 ** 30],
    ['2Gi', 2 * 2 ** 30],
    ['512MiB', 512 * 2 ** 20],
    ['1.5T', 1.5 * 2 ** 40],
    ['1024', 1024],
    [4096, 4096],
    ['2 G', 2 * 2 ** 30],
    ['2b', 2],
    ['2i', undefined],
    ['two gigs', undefined],
    ['-1G', undefined],
    ['', undefined],
    [Number.NaN, undefined],
  ];
  for (const [input, want] of rows) t.equal(tryParseBytes(input), want, `${JSON.stringify(input)}`);
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
  t.equal(formatDuration(350), '350ms');
  t.equal(formatDuration(45_000), '45s');
  t.equal(formatDuration(3_720_000), '1h02m');
});
