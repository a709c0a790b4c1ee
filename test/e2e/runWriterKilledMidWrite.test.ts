import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { processAlive } from '../../src/common/processIdentity.js';
import { waitFor } from '../fixtures/waitFor.js';
import { runToil, scratchDir, startToil, type ToilResult } from '../fixtures/workflowCli.js';

// Sized for a busy two-core machine; a hang still fails, later.
t.setTimeout(180_000);

const MiB = 1 << 20;

// A job streams a 16 MiB file into the store. Its first attempt stops half-way (8 MiB written),
// says its pid, and waits to be killed; the next attempt writes the file whole.
const WORKFLOW = `
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { defineJob, defineWorkflow } from 'toil-ts';
const big = defineJob<string, number>('big', { cores: 0.1, memory: '64Mi', disk: '64Mi' }, async (job, dir) => {
  const first = !existsSync(join(dir, 'writer.pid'));
  async function* body() {
    for (let i = 0; i < 16; i++) {
      yield Buffer.alloc(${MiB}, i);
      if (first && i === 7) {
        writeFileSync(join(dir, 'writer.pid'), String(process.pid));
        await new Promise(() => setInterval(() => {}, 1000));
      }
    }
  }
  const id = await job.fileStore.writeGlobalFileStream(Readable.from(body()));
  return (await job.fileStore.readGlobalFileBytes(id)).length;
});
export default defineWorkflow<string>({ start(ctx) { return ctx.root(big, ctx.args[0]!); } });
`;

/** The store's temporary files, with their sizes. */
function temporaries(store: string): { name: string; size: number }[] {
  const dir = join(store, '.tmp');
  return readdirSync(dir).map((name) => ({ name, size: statSync(join(dir, name)).size }));
}

/** Resolves with the pid of the job's first attempt once it has written half its file into the store. */
async function halfWritten(dir: string, store: string): Promise<number> {
  await waitFor(
    'the first attempt to have written 8 MiB',
    () => existsSync(join(dir, 'writer.pid')) && temporaries(store).some((f) => f.size >= 8 * MiB),
    60_000,
  );
  return Number(readFileSync(join(dir, 'writer.pid'), 'utf8'));
}

/** `r`, a run of the workflow, succeeded; the store holds no temporary file, and the run said it removed one. */
function succeededLeavingNoHalfWrittenFile(t: Test, store: string, r: ToilResult): void {
  t.equal(r.code, 0, r.stderr);
  t.match(r.stderr, /toil: workflow succeeded/);
  t.same(temporaries(store), [], 'no temporary file is left in the job store');
  t.match(
    r.stderr,
    /removed 1 half-written file \(8\.0 MiB\) that writers killed mid-write left in the job store/,
    'the run says what it removed',
  );
}

t.test(
  'a worker killed while it writes a large file: its job runs again, and the store kept after the run holds no half-written file',
  async (t) => {
    const dir = scratchDir(t);
    writeFileSync(join(dir, 'wf.ts'), WORKFLOW);
    const store = join(dir, 'js');
    const run = startToil(
      ['run', 'wf.ts', 'file:./js', dir, '--clean', 'never', '--retryCount', '1', '--disableProgress'],
      { cwd: dir },
    );
    const writer = await halfWritten(dir, store);
    process.kill(writer, 'SIGKILL');
    succeededLeavingNoHalfWrittenFile(t, store, await run.done);
  },
);

t.test(
  'a leader and its worker killed while the worker writes a large file: --restart finishes, and the kept store holds no half-written file',
  async (t) => {
    const dir = scratchDir(t);
    writeFileSync(join(dir, 'wf.ts'), WORKFLOW);
    const store = join(dir, 'js');
    const first = startToil(['run', 'wf.ts', 'file:./js', dir, '--disableProgress'], { cwd: dir });
    const writer = await halfWritten(dir, store);
    first.child.kill('SIGKILL');
    await first.done;
    process.kill(writer, 'SIGKILL');
    await waitFor('the killed worker to end', () => !processAlive(writer));
    t.equal(
      temporaries(store).filter((f) => f.size >= 8 * MiB).length,
      1,
      'the kill left the half-written file',
    );
    const r = await runToil(
      ['run', 'wf.ts', 'file:./js', dir, '--restart', '--clean', 'never', '--disableProgress'],
      { cwd: dir },
    );
    succeededLeavingNoHalfWrittenFile(t, store, r);
    t.ok(
      r.stderr.indexOf('half-written file') < r.stderr.indexOf('resuming workflow'),
      'as it takes the store, before the workflow resumes',
    );
  },
);
