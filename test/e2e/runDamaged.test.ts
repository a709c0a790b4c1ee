import { existsSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { ManualClock } from '../../src/common/clock.js';
import { silentLogger } from '../../src/common/log.js';
import { FileObjectStore } from '../../src/jobstore/fileObjectStore.js';
import { JobStore, commitKey } from '../../src/jobstore/jobStore.js';
import type { IssuedJob } from '../../src/ports/batchSystem.js';
import { runWorkflow } from '../../src/leader/runWorkflow.js';
import { REPO_ROOT, runToil, scratchDir } from '../fixtures/workflowCli.js';
import { InProcessBatchSystem } from '../fixtures/workflowInProcess.js';

const SORT = join(REPO_ROOT, 'examples/sort.ts');
const TREE = join(REPO_ROOT, 'test/fixtures/workflowTree.ts');
const DEFAULTS = { cores: 1, memory: 2 ** 31, disk: 2 ** 31, preemptable: false };
/** The file backend's header before an object's bytes (docs/jobstore.md). */
const HEADER = 99;

/** The file holding object `key` in a file: store at `root`. */
function objectFile(root: string, key: string): string {
  const segments = key.split('/');
  const last = segments.pop()!;
  return join(root, 'objects', ...segments.map((s) => `${s}%`), last);
}

/**
 * Truncates job-store files while the workflow runs: the inputs of the first two merge (`up`)
 * jobs of the sort, just before each is issued (after the jobs that wrote them committed).
 */
class TruncatingBatchSystem extends InProcessBatchSystem {
  readonly truncated: string[] = [];
  private readonly seen = new Set<string>();
  private planned = 0;
  private readonly js: JobStore;
  private readonly root: string;

  constructor(store: JobStore, root: string, workDir: string) {
    super(store, workDir);
    this.js = store;
    this.root = root;
  }

  override async issue(job: IssuedJob): Promise<void> {
    // Decided before the first await: two merges may be issued at once.
    const take = job.name === 'up' && !this.seen.has(job.jobId) ? Math.min(2, 3 - this.planned) : 0;
    this.seen.add(job.jobId);
    this.planned += take;
    if (take > 0) {
      const ticket = await this.js.readTicket(job.jobId);
      const input = ticket!.input as { a: string; b: string };
      for (const fileId of [input.a, input.b].slice(0, take)) {
        const path = objectFile(this.root, fileId);
        const size = readFileSync(path).length;
        truncateSync(path, HEADER + Math.floor((size - HEADER) / 2));
        this.truncated.push(fileId);
      }
    }
    return super.issue(job);
  }
}

t.test(
  'sort with three job-store files truncated mid-run fails, naming the damaged files; it never succeeds with short output',
  async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'toil-damaged-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const root = join(dir, 'js');
    const store = new JobStore(new FileObjectStore(root));
    const input = join(dir, 'in.txt');
    const output = join(dir, 'sorted.txt');
    writeFileSync(
      input,
      Array.from({ length: 4000 }, (_, i) => `line ${(i * 7919) % 4000}`).join('\n') + '\n',
    );
    const bs = new TruncatingBatchSystem(store, root, dir);
    const outcome = await runWorkflow({
      store,
      workflowFile: SORT,
      args: ['--fileToSort', input, '--outputFile', output, '--N', '8000'],
      restart: false,
      clean: 'never',
      retryCount: 1,
      defaults: DEFAULTS,
      batchSystem: bs,
      clock: new ManualClock(),
      log: silentLogger(),
      workerCommand: () => [],
      workDir: dir,
    });
    t.equal(bs.truncated.length, 3, 'three files were truncated while the workflow ran');
    t.equal(outcome.status, 'failed', 'the workflow failed');
    t.notOk(existsSync(output), 'no output was written (finish never ran)');
    if (outcome.status !== 'failed') return;
    const reasons = outcome.failures.map((f) => f.reason).join('\n');
    t.ok(
      outcome.failures.every((f) => f.name === 'up' && f.attempts === 2),
      'the merge jobs that read them failed, each after its retry',
    );
    t.match(
      reasons,
      /JOBSTORE_CORRUPT|is damaged: object files\/(?:[0-9a-f-]{36}\/\d+\/)?[0-9a-f-]{36} holds \d+ bytes, expected \d+/,
    );
    const named = bs.truncated.filter((id) => reasons.includes(id));
    t.ok(named.length >= 2, `the failures name the truncated files (${named.length} of 3 named)`);
    const status = await runToil(['status', `file:${root}`], { cwd: dir });
    t.equal(status.code, 1, 'toil status exits 1 when it finds damage');
    for (const id of bs.truncated) t.match(status.stdout, `  ${id}: holds `, `toil status lists ${id}`);
    t.match(status.stdout, /damaged: {4}3 object\(s\)/);
  },
);

t.test('a damaged commit on --restart: one line naming it, exit 2, and what to do', async (t) => {
  const dir = scratchDir(t);
  const args = ['--n', '4', '--out', 'out.txt', '--log', 'exec.log'];
  const first = await runToil(['run', TREE, 'file:./js', ...args, '--clean', 'never'], { cwd: dir });
  t.equal(first.code, 0, first.code === 0 ? 'the workflow ran' : first.stderr);
  const store = new JobStore(new FileObjectStore(join(dir, 'js')));
  const commits = [...(await store.readAllCommits()).keys()];
  const victim = commitKey(commits[0]!);
  const path = objectFile(join(dir, 'js'), victim);
  const bytes = readFileSync(path);
  bytes[bytes.length - 3]! ^= 0x20; // one changed character inside the JSON
  writeFileSync(path, bytes);
  const again = await runToil(['run', TREE, 'file:./js', '--restart', ...args], { cwd: dir });
  t.equal(again.code, 2, 'exit 2');
  const lines = again.stderr.trim().split('\n');
  t.equal(lines.length, 1, `one line: ${again.stderr}`);
  t.match(lines[0], `toil: job store file:./js is damaged: object ${victim} fails its checksum`);
  t.match(
    lines[0],
    /run 'toil status file:\.\/js' to list every damaged object; restore them, or run 'toil clean file:\.\/js'/,
  );
  t.notMatch(again.stderr, /internal error|\n\s+at /, 'no stack trace');
  const status = await runToil(['status', 'file:./js', '--json'], { cwd: dir });
  t.equal(status.code, 1);
  const s = JSON.parse(status.stdout) as { damaged: { key: string; reason: string }[] };
  t.same(
    s.damaged.map((d) => d.key),
    [victim],
    'toil status --json lists exactly the damaged commit',
  );
});

t.test(
  'a damaged run outcome or leader record: toil status lists it and exits 1, as for any damaged object',
  async (t) => {
    const dir = scratchDir(t);
    const args = ['--n', '3', '--out', 'out.txt', '--log', 'exec.log'];
    const first = await runToil(['run', TREE, 'file:./js', ...args, '--clean', 'never'], { cwd: dir });
    t.equal(first.code, 0, first.code === 0 ? 'the workflow ran' : first.stderr);
    for (const key of ['outcome.json', 'leader.json']) {
      const path = objectFile(join(dir, 'js'), key);
      const intact = readFileSync(path);
      t.teardown(() => writeFileSync(path, intact));
      truncateSync(path, 50);
      const status = await runToil(['status', 'file:./js'], { cwd: dir });
      t.equal(status.code, 1, `${key}: exit 1 (${status.stderr.trim()})`);
      t.match(status.stdout, new RegExp(`damaged: {4}1 object\\(s\\)[^\\n]*\\n  ${key}: lacks the header`));
      t.match(
        status.stdout,
        /^jobs: {7}\d+ completed of \d+ declared so far/m,
        `${key}: the report is there`,
      );
      t.equal(status.stderr, '', `${key}: no one-line refusal instead`);
      if (key === 'leader.json') {
        const printStatus = await runToil(['status', 'file:./js', '--printStatus'], { cwd: dir });
        t.equal(printStatus.code, 1, `--printStatus with ${key} damaged: exit 1, as for the report`);
        t.match(
          printStatus.stdout,
          /^which jobs are running cannot be told: .*leader\.json/m,
          '--printStatus says it cannot tell, naming the damaged record',
        );
        t.equal(printStatus.stderr, '', '--printStatus: no one-line refusal instead');
      }
      writeFileSync(path, intact);
    }
  },
);
