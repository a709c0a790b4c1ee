import { join } from 'node:path';
import t from 'tap';
import { REPO_ROOT, runToil, scratchDir } from '../fixtures/workflowCli.js';

const SIZED = join(REPO_ROOT, 'test/fixtures/workflowSized.ts');

t.setTimeout(120_000);

t.test("a job's memory: '3G' is 3 × 10^9 bytes end to end, as in Toil (G decimal, Gi binary)", async (t) => {
  const dir = scratchDir(t);
  const fits = await runToil(['run', SIZED, 'file:./fits', '--maxMemory', '2.9Gi'], { cwd: dir });
  t.equal(fits.code, 0, `2.8 GiB fits under --maxMemory 2.9Gi (${fits.stderr.trim()})`);

  const over = await runToil(['run', SIZED, 'file:./over', '--maxMemory', '2.7Gi'], { cwd: dir });
  t.equal(over.code, 2, 'refused under --maxMemory 2.7Gi');
  t.match(
    over.stderr,
    /^toil: job 'sized' asks for 2\.8 GiB memory, more than --maxMemory allows \(2\.7 GiB\);/m,
  );

  // Written in decimal units, the sizes are said in them: 2G is not called 1.9 GiB.
  const decimal = await runToil(['run', SIZED, 'file:./decimal', '--maxMemory', '2G'], { cwd: dir });
  t.equal(decimal.code, 2, 'refused under --maxMemory 2G');
  t.match(
    decimal.stderr,
    /^toil: job 'sized' asks for 3\.0 GB memory, more than --maxMemory allows \(2\.0 GB\);/m,
    'the job asks for 3G, the cap is 2G: both said as written',
  );
});

t.test('a size with a suffix Toil refuses is refused, naming it and the suffixes taken', async (t) => {
  const dir = scratchDir(t);
  for (const size of ['3GiBs', '3X', '3i']) {
    const r = await runToil(['run', SIZED, 'file:./js', '--maxMemory', size], { cwd: dir });
    t.equal(r.code, 2, `${size}: exit 2`);
    t.match(
      r.stderr,
      new RegExp(
        `--maxMemory ${size}: expected a size like 600M or 2Gi \\(suffixes B, K/KB, .* \\(powers of 1000\\) or Ki/KiB, .*Ei/EiB \\(powers of 1024\\), any case; a bare number is bytes\\)`,
      ),
      `${size}: names the input and the suffixes`,
    );
  }
});
