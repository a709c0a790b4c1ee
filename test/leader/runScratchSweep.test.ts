import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { SCRATCH_PREFIX, makeRunScratch, sweepAbandonedScratch } from '../../src/leader/runScratch.js';

/** A pid that no process has: one of a child that has exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
  return Number(child.stdout.toString());
}

function scratchOf(workDir: string, name: string, owner?: unknown): string {
  const dir = join(workDir, SCRATCH_PREFIX + name);
  mkdirSync(dir);
  writeFileSync(join(dir, 'workflow.mjs'), 'export {};');
  if (owner !== undefined) writeFileSync(join(dir, 'owner.json'), JSON.stringify(owner));
  return dir;
}

t.test(
  'a leader scratch dir is made under a workDir that does not exist yet, marked with this host and pid',
  async (t) => {
    const root = mkdtempSync(join(tmpdir(), 'toil-scratch-'));
    t.teardown(() => rmSync(root, { recursive: true, force: true }));
    const dir = await makeRunScratch(join(root, 'nested', 'work'));
    t.ok(existsSync(dir));
    t.ok(dir.split('/').pop()!.startsWith(SCRATCH_PREFIX));
    t.same(
      await sweepAbandonedScratch(join(root, 'nested', 'work')),
      [],
      'its own live scratch is not swept',
    );
    t.ok(existsSync(dir));
  },
);

t.test('the sweep removes only scratch whose leader is gone from this host', async (t) => {
  const work = mkdtempSync(join(tmpdir(), 'toil-scratch-'));
  t.teardown(() => rmSync(work, { recursive: true, force: true }));
  const dead = deadPid();
  const abandoned = scratchOf(work, 'killed', { host: hostname(), pid: dead });
  const live = scratchOf(work, 'live', { host: hostname(), pid: process.pid });
  const otherHost = scratchOf(work, 'otherhost', { host: `${hostname()}-elsewhere`, pid: dead });
  const unmarked = scratchOf(work, 'unmarked');
  const garbled = join(scratchOf(work, 'garbled'), 'owner.json');
  writeFileSync(garbled, '{"host": 3');
  const notOurs = join(work, 'someone-else-dir');
  mkdirSync(notOurs);
  writeFileSync(join(notOurs, 'owner.json'), JSON.stringify({ host: hostname(), pid: dead }));

  t.same(await sweepAbandonedScratch(work), [abandoned], 'only the killed leader’s scratch');
  t.notOk(existsSync(abandoned));
  for (const kept of [live, otherHost, unmarked, notOurs]) t.ok(existsSync(kept), `${kept} is kept`);
  t.equal(readdirSync(work).length, 5);
});

t.test('the sweep of a workDir that does not exist removes nothing and does not throw', async (t) => {
  t.same(await sweepAbandonedScratch(join(tmpdir(), 'toil-scratch-never-made-' + process.pid)), []);
});
