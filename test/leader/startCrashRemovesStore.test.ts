import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { ManualClock, RealClock } from '../../src/common/clock.js';
import { silentLogger } from '../../src/common/log.js';
import { FileObjectStore } from '../../src/jobstore/fileObjectStore.js';
import { JobStore } from '../../src/jobstore/jobStore.js';
import { parseLocator } from '../../src/jobstore/locator.js';
import { LeaderDaemon } from '../../src/leader/daemon.js';
import { parseLeaderConfigObject } from '../../src/leader/leaderConfig.js';
import { runWorkflow } from '../../src/leader/runWorkflow.js';
import { IsolatedWorkflowCode } from '../../src/leader/workflowHost.js';
import { readCatalogue } from '../../src/scaler/catalogueFile.js';
import { fakeDaemonDeps } from '../fixtures/leaderFakes.js';
import { InProcessBatchSystem } from '../fixtures/workflowInProcess.js';
import { REPO_ROOT, startToil, TOIL_BIN } from '../fixtures/workflowCli.js';
import { testDir } from '../fixtures/testDir.js';

/**
 * A workflow whose code crashes as it starts (process.exit in start) on a daemon: the run's new
 * job store is removed with it, as a local run's is. The `toil run --leader` following it said
 * "the job store … is kept; submit again to restart it" of a store that was not there. A module
 * that calls process.exit as it loads fails its run as its mistake, not as a crash.
 */
const WORKFLOW = join(REPO_ROOT, 'test/fixtures/workflowMisbehaves.ts');
const TOKEN = 'test-token-0123456789abcdef';
// Each case has a daemon and a directory of its own, the last mostly waiting out its module's 20-s
// load limit: they run side by side.
t.jobs = 3;

/** A daemon in this process whose runs' own code runs in real workflow hosts; its URL. */
async function startDaemon(t: Test, dir: string): Promise<string> {
  const clock = new ManualClock();
  const config = parseLeaderConfigObject(
    {
      http: { port: 0 },
      scaler: { region: 'us-west-2', zones: ['us-west-2a'], nodeTypes: ['t2.medium'] },
    },
    await readCatalogue(),
  );
  const stores = new Map<string, JobStore>();
  const storeOf = (locator: string): JobStore => {
    const parsed = parseLocator(locator);
    if (parsed.kind !== 'file') throw new Error(`expected a file: job store, got ${locator}`);
    const store = stores.get(parsed.path) ?? new JobStore(new FileObjectStore(parsed.path));
    stores.set(parsed.path, store);
    return store;
  };
  const daemon = new LeaderDaemon({
    ...fakeDaemonDeps(clock, config),
    newBatchSystem: (s) => new InProcessBatchSystem(storeOf(s.jobStore), dir) as never,
    runWorkflow: (submission, batchSystem, _progress, signal, ...[, , , , , , onNotice]) =>
      runWorkflow({
        store: storeOf(submission.jobStore),
        workflowFile: submission.workflowFile,
        args: submission.args,
        restart: false,
        clean: 'onSuccess',
        retryCount: 0,
        defaults: { cores: 1, memory: 2 ** 30, disk: 2 ** 30, preemptable: false },
        batchSystem,
        clock: new RealClock(),
        log: silentLogger(),
        workerCommand: (l, id, a) => ['toil', 'worker', l, id, '--attempt', String(a)],
        workDir: dir,
        signal,
        code: new IsolatedWorkflowCode({
          command: [process.execPath, '--openssl-legacy-provider', TOIL_BIN, 'workflow-host'],
          clock: new RealClock(),
          log: silentLogger(),
          timeouts: { start: 20_000, finish: 20_000, load: 20_000 },
          workflowFile: submission.workflowFile,
          onNotice,
        }),
      }),
    auth: { token: TOKEN, metrics: 'open', status: 'open' },
  });
  const url = await daemon.start();
  t.teardown(() => daemon.stop());
  return url;
}

/** DIR/wf.ts: a one-job workflow whose module runs `line` at its top level first; its path. */
function moduleWithTopLevel(dir: string, line: string): string {
  const path = join(dir, 'wf.ts');
  writeFileSync(
    path,
    `import { defineJob, defineWorkflow } from 'toil-ts';\n${line}\nconst a = defineJob<null, number>('j', () => 1);\nexport default defineWorkflow<number>({ start(ctx) { return ctx.root(a, null); } });\n`,
  );
  return path;
}

t.test(
  'a start that crashes on the daemon: the client says its job store was removed, not kept',
  async (t) => {
    const dir = testDir(t);
    const url = await startDaemon(t, dir);
    const jobStore = `file:${join(dir, 'js')}`;
    const client = startToil(['run', WORKFLOW, jobStore, 'start-exits', '--leader', url], {
      env: { TOIL_LEADER_TOKEN: TOKEN },
    });
    t.teardown(() => void client.child.kill('SIGKILL'));
    const r = await client.done;
    const said = r.stdout + r.stderr;
    t.equal(r.code, 1, 'the run failed');
    t.match(
      said,
      /workflow failed on the leader: the process running start\(\) of workflow .* died \(exit code 7\)/,
    );
    t.notOk(existsSync(join(dir, 'js')), 'no job store is left');
    t.match(
      said,
      `toil: the workflow did not start, and its job store ${jobStore} was removed: submitting again starts it anew\n`,
      'the client says the store is gone',
    );
    t.notMatch(said, /is kept/, 'not that it is kept');
  },
);

/**
 * A `process.exit` at the module's top level, as the daemon's workflow host imports it, is the
 * module's mistake, said as a plain `toil run` says it: it read as the host process's crash
 * (`the process running start() … died (exit code 7)`), exit 1.
 */
t.test(
  "a module's top-level process.exit on the daemon: its mistake in one line, exit 2, no job store, the daemon goes on",
  async (t) => {
    const dir = testDir(t);
    const url = await startDaemon(t, dir);
    const exits = moduleWithTopLevel(dir, 'if (!process.env.NEVER_SET_X) process.exit(7);');
    const env = { TOIL_LEADER_TOKEN: TOKEN };
    const refused = startToil(['run', exits, `file:${join(dir, 'js')}`, '--leader', url], { env });
    t.teardown(() => void refused.child.kill('SIGKILL'));
    const r = await refused.done;
    const said = r.stdout + r.stderr;
    t.equal(r.code, 2, said);
    t.match(
      said,
      /^toil: workflow failed on the leader: the workflow module failed to load: WorkflowCalledExitError: the workflow module called process\.exit\(7\): .* \(at \S*wf\.ts:2:\d+\)$/m,
    );
    t.notMatch(said, /died|exit code 7|\n\s+at /, 'not a crash, no stack');
    t.notOk(existsSync(join(dir, 'js')), 'no job store is left');

    const next = startToil(
      ['run', WORKFLOW, `file:${join(dir, 'js2')}`, 'well', join(dir, 'out'), '--leader', url],
      {
        env,
      },
    );
    t.teardown(() => void next.child.kill('SIGKILL'));
    const n = await next.done;
    t.equal(n.code, 0, `the daemon runs the next workflow: ${n.stdout}${n.stderr}`);
  },
);

/**
 * A module whose top level never settles, on a daemon: a local run says after 10 s that it is
 * still loading, but the daemon's host said so only in the daemon's log, and `toil run --leader`
 * showed nothing until the daemon's load limit (here 20 s) failed the run.
 */
t.test(
  'a module whose top level never settles on the daemon: its submitter is told, once, that it is still loading',
  async (t) => {
    const dir = testDir(t);
    const url = await startDaemon(t, dir);
    const hangs = moduleWithTopLevel(dir, 'await new Promise(() => {});');
    const client = startToil(['run', hangs, `file:${join(dir, 'js')}`, '--leader', url], {
      env: { TOIL_LEADER_TOKEN: TOKEN },
    });
    t.teardown(() => void client.child.kill('SIGKILL'));
    const r = await client.done;
    const said = r.stdout + r.stderr;
    t.equal(r.code, 1, `the load limit failed the run: ${said}`);
    const warnings = said.match(/^toil: WARNING on the leader: .*$/gm) ?? [];
    t.same(
      warnings,
      [
        'toil: WARNING on the leader: the workflow module has not finished loading after 10 s: its top level is still running or awaiting something (an await at the top level of the module, or of a module it imports, that never settles keeps the run here; Ctrl-C stops it)',
      ],
      'one line, once',
    );
    const warnedAt = said.indexOf('WARNING on the leader');
    t.ok(
      warnedAt >= 0 && warnedAt < said.indexOf('did not load the module within 20 s'),
      'said before the load limit failed the run',
    );
  },
);
