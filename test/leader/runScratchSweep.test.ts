import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { thisProcess } from '../../src/common/processIdentity.js';
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
  'a leader scratch dir is made under an existing workDir, marked with this process; a workDir that does not exist is refused, not made',
  async (t) => {
    const root = mkdtempSync(join(tmpdir(), 'toil-scratch-'));
    t.teardown(() => rmSync(root, { recursive: true, force: true }));
    await t.rejects(
      makeRunScratch(join(root, 'nested', 'work')),
      {
        code: 'BAD_FLAG',
        message: `work directory ${join(root, 'nested', 'work')} (--workDir, TOIL_WORKDIR or TOIL_WORKDIR_OVERRIDE): it does not exist (expected an existing directory: make it first)`,
      },
      'as in Toil, a work directory that does not exist is refused',
    );
    t.same(readdirSync(root), [], 'and nothing is made');
    mkdirSync(join(root, 'nested', 'work'), { recursive: true });
    const dir = await makeRunScratch(join(root, 'nested', 'work'));
    t.ok(existsSync(dir));
    t.ok(dir.split('/').pop()!.startsWith(SCRATCH_PREFIX));
    t.same(
      JSON.parse(readFileSync(join(dir, 'owner.json'), 'utf8')),
      thisProcess(),
      'marked with this host, boot, pid namespace and pid',
    );
    t.same(
      await sweepAbandonedScratch(join(root, 'nested', 'work')),
      [],
      'its own live scratch is not swept',
    );
    t.ok(existsSync(dir));
  },
);

t.test('the sweep removes only scratch whose leader is provably gone from this host', async (t) => {
  const work = mkdtempSync(join(tmpdir(), 'toil-scratch-'));
  t.teardown(() => rmSync(work, { recursive: true, force: true }));
  const dead = { ...thisProcess(), pid: deadPid() };
  t.ok(dead.bootId && dead.pidNamespace, 'this host records its boot and pid namespace');
  const abandoned = scratchOf(work, 'killed', dead);
  const live = scratchOf(work, 'live', thisProcess());
  const otherHost = scratchOf(work, 'otherhost', { ...dead, host: `${hostname()}-elsewhere` });
  // Another boot or another container with this host's name: the pid is not one of this process table.
  const otherBoot = scratchOf(work, 'otherboot', { ...dead, bootId: 'another-boot' });
  const otherContainer = scratchOf(work, 'othercontainer', { ...dead, pidNamespace: 'pid:[1]' });
  // A mark that proves nothing: no boot id or pid namespace (not Linux).
  const unproven = scratchOf(work, 'unproven', { host: hostname(), pid: dead.pid });
  const unmarked = scratchOf(work, 'unmarked');
  // A mark of the wrong shape is no proof, however much of it matches.
  const pidAsText = scratchOf(work, 'pidastext', { ...dead, pid: String(dead.pid) });
  const garbled = join(scratchOf(work, 'garbled'), 'owner.json');
  writeFileSync(garbled, '{"host": 3');
  const notOurs = join(work, 'someone-else-dir');
  mkdirSync(notOurs);
  writeFileSync(join(notOurs, 'owner.json'), JSON.stringify(dead));

  t.same(await sweepAbandonedScratch(work), [abandoned], 'only the killed leader’s scratch');
  t.notOk(existsSync(abandoned));
  for (const kept of [live, otherHost, otherBoot, otherContainer, unproven, unmarked, pidAsText, notOurs])
    t.ok(existsSync(kept), `${kept} is kept`);
  t.equal(readdirSync(work).length, 9);
});

t.test('the sweep of a workDir that does not exist removes nothing and does not throw', async (t) => {
  t.same(await sweepAbandonedScratch(join(tmpdir(), 'toil-scratch-never-made-' + process.pid)), []);
});
