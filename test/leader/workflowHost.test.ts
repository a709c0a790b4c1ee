import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { ManualClock, RealClock, type Clock } from '../../src/common/clock.js';
import { createLogger, silentLogger, type Logger } from '../../src/common/log.js';
import { capturedLog } from '../fixtures/leaderFakes.js';
import { IsolatedWorkflowCode, WorkflowCodeError } from '../../src/leader/workflowHost.js';
import { bundleWorkflow } from '../../src/workflow/bundle.js';
import { REPO_ROOT, TOIL_BIN } from '../fixtures/workflowCli.js';
import { processAlive as alive } from '../../src/common/processIdentity.js';

/**
 * A workflow's own code in its own process (`toil workflow-host`): what it declares comes back;
 * a throw in a timer, a hang and a process.exit each reject with a typed error naming what
 * happened, and no host process is left behind.
 */
const dir = mkdtempSync(join(tmpdir(), 'toil-workflow-host-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const modulePath = join(dir, 'workflow.mjs');
writeFileSync(modulePath, await bundleWorkflow(join(REPO_ROOT, 'test/fixtures/workflowMisbehaves.ts')));
const jobStore = `file:${join(dir, 'js')}`;

function host(
  timeoutMs = 20_000,
  signal?: AbortSignal,
  o: { clock?: Clock; loadMs?: number; log?: Logger } = {},
): { code: IsolatedWorkflowCode; pids: number[] } {
  const code = new IsolatedWorkflowCode({
    command: [process.execPath, '--openssl-legacy-provider', TOIL_BIN, 'workflow-host'],
    clock: o.clock ?? new RealClock(),
    log: o.log ?? silentLogger(),
    timeouts: { start: timeoutMs, finish: timeoutMs, load: o.loadMs ?? timeoutMs },
    workflowFile: 'misbehaves.ts',
    ...(signal ? { signal } : {}),
  });
  return { code, pids: [] };
}

t.test('start in the host declares the root job; the module defines its job', async (t) => {
  const { code } = host();
  const r = await code.start({ modulePath, jobStore, workflowFile: 'misbehaves.ts', args: ['well'] });
  t.equal(r.jobs.length, 1);
  t.equal(r.jobs[0]?.name, 'one');
  t.equal(r.rootJobId, r.jobs[0]?.id);
  t.same(await code.jobNames({ modulePath }), [
    'one',
    'leaky',
    'boom',
    'timerQuitter',
    'lateQuitter',
    'lateThrower',
    'strayQuitter',
    'quitter',
    'hoarder',
    'counter',
    'stall',
    'chatty',
    'timerThrower',
    'forgetful',
    'crasher',
    'spinner',
  ]);
  const out = join(dir, 'out.txt');
  await code.finish({
    modulePath,
    jobStore,
    args: ['well', out],
    workflowFile: 'misbehaves.ts',
    restart: false,
    returnValue: 42,
  });
  t.equal(readFileSync(out, 'utf8'), '42', 'finish ran with the return value');
});

t.test(
  "a workflow refusing its own arguments is the user's mistake: no error logged with a stack",
  async (t) => {
    const { destination, lines } = capturedLog();
    const { code } = host(20_000, undefined, { log: createLogger({ level: 'debug', destination }) });
    await t.rejects(
      code.start({ modulePath, jobStore, workflowFile: 'misbehaves.ts', args: ['start-refuses'] }),
      {
        code: 'WORKFLOW_START',
        disposition: 'user',
        message: /--input nowhere\.txt: no such file/,
      },
    );
    const refused = lines.filter((l) => l.msg.includes('of workflow misbehaves.ts'));
    t.equal(refused.length, 1, JSON.stringify(lines));
    t.equal(refused[0]!.level, 20, 'at debug, for whoever asks for it');
    t.same(
      lines.filter((l) => l.level >= 40),
      [],
      'nothing at warning or error: the run says the refusal once, where it ends',
    );
  },
);

t.test('a throw in a timer inside finish() rejects with it; the caller lives on', async (t) => {
  const { code } = host();
  const e = await code
    .finish({
      modulePath,
      jobStore,
      args: ['finish-throws'],
      workflowFile: 'misbehaves.ts',
      restart: false,
      returnValue: 42,
    })
    .then(
      () => undefined,
      (err: unknown) => err,
    );
  t.ok(e instanceof WorkflowCodeError);
  t.match(e, {
    code: 'WORKFLOW_CODE_THREW',
    message: /finish\(\) of workflow misbehaves\.ts threw: finish failed in a timer with 42/,
  });
});

t.test('a start() that hangs is killed at its timeout', async (t) => {
  const { code } = host(1500, undefined, { loadMs: 60_000 });
  const began = Date.now();
  const e = await code
    .start({ modulePath, jobStore, workflowFile: 'misbehaves.ts', args: ['start-hangs'] })
    .then(
      () => undefined,
      (err: unknown) => err,
    );
  const took = Date.now() - began;
  t.match(e, {
    code: 'WORKFLOW_CODE_TIMEOUT',
    message: /start\(\) of workflow misbehaves\.ts did not return within 2 s/,
  });
  t.ok(took >= 1500, `rejected after ${took} ms, not before its limit`);
});

t.test(
  "start()'s limit counts from the module's load: a host slow to start is not a hung start()",
  async (t) => {
    const clock = new ManualClock();
    const { code } = host(1_000, undefined, { clock, loadMs: 60_000 });
    const started = code.start({ modulePath, jobStore, workflowFile: 'misbehaves.ts', args: ['well'] });
    // Past start()'s limit before the host could have loaded anything (a loaded machine).
    await clock.advance(5_000);
    const r = await started;
    t.equal(r.jobs[0]?.name, 'one', 'start() ran and declared its job');
  },
);

t.test('a host that does not load the module within the load limit is killed, saying so', async (t) => {
  const clock = new ManualClock();
  const { code } = host(60_000, undefined, { clock, loadMs: 2_000 });
  const started = code.start({ modulePath, jobStore, workflowFile: 'misbehaves.ts', args: ['well'] }).then(
    () => undefined,
    (err: unknown) => err,
  );
  await clock.advance(2_001);
  t.match(await started, {
    code: 'WORKFLOW_CODE_TIMEOUT',
    message: /the workflow host for start\(\) of workflow misbehaves\.ts did not load the module within 2 s/,
  });
});

t.test('process.exit inside start() is a crash with its exit code', async (t) => {
  const { code } = host();
  const e = await code
    .start({ modulePath, jobStore, workflowFile: 'misbehaves.ts', args: ['start-exits'] })
    .then(
      () => undefined,
      (err: unknown) => err,
    );
  t.match(e, { code: 'WORKFLOW_CODE_CRASHED', message: /exit code 7/, details: { exitCode: 7 } });
});

t.test('aborting a call kills the host process at once', async (t) => {
  const ac = new AbortController();
  const { code } = host(60_000, ac.signal);
  const before = new Set(hostPids());
  const p = code.finish({
    modulePath,
    jobStore,
    args: ['finish-hangs'],
    workflowFile: 'misbehaves.ts',
    restart: false,
    returnValue: 1,
  });
  let pid: number | undefined;
  for (let i = 0; i < 100 && pid === undefined; i++) {
    await new Promise((r) => setTimeout(r, 50));
    pid = hostPids().find((p) => !before.has(p));
  }
  t.ok(pid, 'the host process runs');
  ac.abort(new Error('cancelled by the test'));
  await t.rejects(p, /cancelled by the test/);
  for (let i = 0; i < 40 && pid !== undefined && alive(pid); i++) await new Promise((r) => setTimeout(r, 50));
  t.notOk(pid !== undefined && alive(pid), 'the host process is gone');
});

/** Children of this process running `toil workflow-host`. */
function hostPids(): number[] {
  const out = execFileSync('ps', ['-o', 'pid=,args=', '--ppid', String(process.pid)], { encoding: 'utf8' });
  return out
    .split('\n')
    .filter((l) => l.includes('workflow-host'))
    .map((l) => Number(l.trim().split(/\s+/)[0]));
}
