import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { repoPath } from '../fixtures/repoRoot.js';
import { waitFor } from '../fixtures/waitFor.js';
import { execLog, POLL, SERVICES } from '../fixtures/servicesRun.js';
import { runToil, scratchDir, startToil } from '../fixtures/workflowCli.js';

t.setTimeout(180_000);
// Each case runs in a directory of its own: they run side by side.
t.jobs = 3;

t.test(
  "Toil's services: both start before the host's successors, their start values reach the child through rv(), and they stop after the follow-on",
  async (t) => {
    const dir = scratchDir(t);
    const r = await runToil(['run', SERVICES, 'file:./js', '--mode', 'basic', ...POLL], { cwd: dir });
    t.equal(r.code, 0, r.stderr);
    const lines = execLog(dir);
    t.same(lines.slice(0, 2).sort(), ['start a', 'start b'], 'both services started first');
    t.same(
      lines.slice(2, 4),
      ['use db://a,db://b', 'after'],
      "the child got both start values, then the host's follow-on ran",
    );
    t.same(lines.slice(4).sort(), ['stop a', 'stop b'], 'then both stopped');
    t.equal(readFileSync(join(dir, 'result.txt'), 'utf8'), 'host');
  },
);

t.test(
  "Toil's sub-service (Service.addChild): it starts after its parent service, with the parent's start value; the host's child waits for both",
  async (t) => {
    const dir = scratchDir(t);
    const r = await runToil(['run', SERVICES, 'file:./js', '--mode', 'sub', ...POLL], { cwd: dir });
    t.equal(r.code, 0, r.stderr);
    const lines = execLog(dir);
    t.same(lines.slice(0, 3), ['start m', 'start worker of db://m', 'use db://m,db://m/worker']);
    t.same(lines.slice(3).sort(), ['stop m', 'stop worker']);
  },
);

t.test(
  "a service whose check fails fails for good: the host's successors not started yet never run, and the workflow fails naming the service",
  async (t) => {
    const dir = scratchDir(t);
    const r = await runToil(['run', SERVICES, 'file:./js', '--mode', 'failing', ...POLL], { cwd: dir });
    t.equal(r.code, 1, r.stderr);
    t.match(
      r.stderr,
      /toil: job 'db' \([0-9a-f-]+\) failed after 1 attempt\(s\): Error: service 'db' failed: its check\(\) returned false\ntoil: {3}because of it, 1 job\(s\) below job 'host' never ran: 'use'\n/,
      'the summary names the service and the job that never ran because of it',
    );
    t.match(
      r.stderr,
      /service 'db' of job 'host' failed: the successors of 'host' not started yet will not run/,
    );
    const lines = execLog(dir);
    t.ok(lines.includes('stop a'), 'its stop ran');
    t.ok(lines.includes('stop b'), "the host's other service was stopped");
    t.notOk(
      lines.some((l) => l.startsWith('use')),
      'the follow-on that needed it did not run',
    );
    // Fixed, --restart starts both services again: b, stopped early, left no commit to replay.
    rmSync(join(dir, 'break-a'));
    const again = await runToil(['run', SERVICES, 'file:./js', '--mode', 'failing', '--restart', ...POLL], {
      cwd: dir,
    });
    t.equal(again.code, 0, again.stderr);
    const after = execLog(dir).slice(lines.length);
    t.same(after.filter((l) => l.startsWith('start')).sort(), ['start a', 'start b'], 'both started again');
    t.ok(after.includes('use db://a,db://b'), 'and the follow-on ran while they did');
    t.notOk(after.includes('breaker'), "the host's committed child did not run again");
  },
);

t.test(
  'a checkpoint hosting a service that fails runs again, defines a new service and successors, and the workflow succeeds',
  async (t) => {
    const dir = scratchDir(t);
    const r = await runToil(
      ['run', SERVICES, 'file:./js', '--mode', 'checkpoint', '--clean', 'never', ...POLL],
      {
        cwd: dir,
      },
    );
    t.equal(r.code, 0, r.stderr);
    const lines = execLog(dir);
    t.same(
      lines.filter((l) => l.startsWith('ckhost')),
      ['ckhost 1', 'ckhost 2'],
    );
    t.same(lines.slice(-4), ['start c', 'use db://c', 'after', 'stop c']);
    t.equal(readFileSync(join(dir, 'result.txt'), 'utf8'), 'run 2');
    const s = await runToil(['status', 'file:./js'], { cwd: dir });
    t.match(s.stdout, /state:\s+finished/);
    t.notMatch(s.stdout, /failed for good/);
  },
);

t.test(
  "a service whose stop() throws once its host's successors have all run fails the run, saying they had completed (not that they will not run)",
  async (t) => {
    const dir = scratchDir(t);
    const r = await runToil(['run', SERVICES, 'file:./js', '--mode', 'badStop', ...POLL], { cwd: dir });
    t.equal(r.code, 1, r.stderr);
    t.match(r.stderr, /failed after 1 attempt\(s\): Error: badStop could not stop cleanly/);
    t.match(r.stderr, /service 'badStop' of job 'host' failed: every successor of 'host' had completed/);
    t.notMatch(r.stderr, /will not run|never ran/, 'no job was kept from running');
    t.same(execLog(dir), ['use db://badStop']);
  },
);

t.test(
  "a service holding the only core its host's child needs: the service deadlock is named and the run fails after --deadlockWait, not hangs",
  async (t) => {
    const dir = scratchDir(t);
    const started = Date.now();
    const r = await runToil(
      ['run', SERVICES, 'file:./js', '--mode', 'deadlock', '--maxCores', '1', '--deadlockWait', '2', ...POLL],
      { cwd: dir },
    );
    t.equal(r.code, 1, r.stderr);
    t.ok(Date.now() - started < 60_000, 'ended soon after the wait');
    t.match(
      r.stderr,
      /potential service deadlock: all 1 running job\(s\) are services \('bigDb'\) while 1 issued job\(s\) wait for room/,
    );
    t.match(
      r.stderr,
      /toil: job 'wide' \([0-9a-f-]+\) failed after 1 attempt\(s\): the workflow is service deadlocked: all 1 running job\(s\) have been services \('bigDb'\) for at least 2 s \(--deadlockWait\) .*; give the batch system more room \(--maxCores, --maxMemory\) or the services less$/m,
    );
    t.ok(execLog(dir).includes('stop big'), 'the service was stopped, its stop run');
  },
);

t.test(
  "kill -9 of the leader while a service runs, then --restart: the service starts again, the host's committed child does not run again",
  async (t) => {
    const dir = scratchDir(t);
    const args = ['--mode', 'hold', '--clean', 'never', ...POLL];
    const first = startToil(['run', SERVICES, 'file:./js', ...args], { cwd: dir });
    t.teardown(() => first.child.kill('SIGKILL'));
    await waitFor('the follow-on to wait', () => execLog(dir).includes('after waits'), 60_000);
    first.child.kill('SIGKILL');
    await first.done;
    writeFileSync(join(dir, 'go'), '');
    const r = await runToil(['run', SERVICES, 'file:./js', ...args, '--restart'], { cwd: dir });
    t.equal(r.code, 0, r.stderr);
    const lines = execLog(dir);
    t.equal(lines.filter((l) => l === 'start a').length, 2, 'the service started again');
    t.equal(lines.filter((l) => l.startsWith('use')).length, 1, 'use ran once');
    t.same(lines.slice(-2), ['after', 'stop a'], 'stopped after the follow-on');
    t.equal(readFileSync(join(dir, 'result.txt'), 'utf8'), 'host');
  },
);

t.test(
  "examples/services.ts (Toil's services tutorial with a real HTTP service): the child reads back through the service what it stored",
  async (t) => {
    const dir = scratchDir(t);
    const r = await runToil(['run', repoPath('examples/services.ts'), 'file:./js', ...POLL], { cwd: dir });
    t.equal(r.code, 0, r.stderr);
    t.match(r.stderr, /service 'keyValueStore' started/);
    t.match(r.stderr, /the workflow read: hello from the service/);
    t.notMatch(r.stderr, /left .* open/, 'the service closed its server in stop');
  },
);
