import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import {
  leaderAuth,
  leaderConfigOnCloud,
  leaderStatus,
  liveWorkers,
  sleep,
  startClusterCloud,
  startToilProcess,
  type RunningProcess,
} from '../fixtures/leaderE2e.js';
import { REPO_ROOT } from '../fixtures/workflowCli.js';
import { testDir } from '../fixtures/testDir.js';

/**
 * A workflow's own code cannot take the daemon down, and a submission survives kill -9: on a
 * local cloud of its own process, a daemon takes a workflow whose finish() throws in a timer and
 * one whose start() hangs; both fail with their error while the daemon lives on and runs a good
 * workflow. Then the daemon is killed -9 right after a 202; the restarted daemon completes the
 * workflow from its record, and the one that threw is not resumed.
 */
const WORKFLOW = join(REPO_ROOT, 'test/fixtures/workflowMisbehaves.ts');

t.setTimeout(180_000);

t.test(
  'finish() throws, start() hangs: both fail, the daemon lives; kill -9 after a 202: completed after restart',
  async (t) => {
    const dir = testDir(t, {});
    const cloud = await startClusterCloud(t, 'isolation');
    const cfgPath = join(dir, 'leader.yaml');
    writeFileSync(
      cfgPath,
      leaderConfigOnCloud(dir, cloud, 'isolation', [
        [/localcloud:\n( {2}.*\n)+/, 'workflows:\n  startTimeout: 15s\n'],
        ['idleGrace: 20s', 'idleGrace: 2s'],
        ['maxNodes: 4', 'maxNodes: 1'],
      ]),
    );
    const start = (): RunningProcess => {
      const p = startToilProcess(['leader', '--config', cfgPath], { cwd: dir });
      t.teardown(() => void p.child.kill('SIGKILL'));
      return p;
    };
    const submit = async (base: string, args: string[], jobStore: string): Promise<string> => {
      const r = await fetch(`${base}/workflows`, {
        method: 'POST',
        headers: leaderAuth(`${dir}/state`),
        body: JSON.stringify({ workflowFile: WORKFLOW, jobStore: `file:${dir}/${jobStore}`, args }),
      });
      t.equal(r.status, 202, `${args[0]}: taken`);
      return ((await r.json()) as { id: string }).id;
    };
    const until = async (
      base: string,
      ids: string[],
    ): Promise<Map<string, { status: string; message?: string }>> => {
      for (let i = 0; i < 600; i++) {
        const s = await leaderStatus(base);
        const runs = new Map(s.workflows.map((w) => [w.id, w]));
        if (ids.every((id) => runs.get(id) && runs.get(id)?.status !== 'running')) return runs;
        await sleep(100);
      }
      throw new Error(`workflows ${ids.join(', ')} did not end`);
    };

    const first = start();
    const base1 = (await first.waitFor(/status at (http:\/\/[0-9.:]+)\/status/, 90_000))[1]!;
    const throws = await submit(base1, ['finish-throws'], 'js-throws');
    const hangs = await submit(base1, ['start-hangs'], 'js-hangs');
    const ended = await until(base1, [throws, hangs]);
    t.match(ended.get(throws), {
      status: 'failed',
      message: /finish\(\) of workflow .*workflowMisbehaves\.ts threw: finish failed in a timer with 42/,
    });
    t.match(ended.get(hangs), {
      status: 'failed',
      message: /start\(\) of workflow .* did not return within 15 s/,
    });
    t.equal(first.child.exitCode, null, 'the daemon is still running');
    t.equal((await fetch(`${base1}/healthz`)).status, 200, 'and healthy');
    t.notOk(existsSync(`${dir}/js-hangs`), 'the hung start left no job store behind');

    // Killed -9 right after the 202: nothing ran yet.
    const out = join(dir, 'out.txt');
    const good = await submit(base1, ['well', out], 'js-good');
    first.child.kill('SIGKILL');
    await first.done;

    const second = start();
    const base2 = (await second.waitFor(/status at (http:\/\/[0-9.:]+)\/status/, 90_000))[1]!;
    const after = await until(base2, [good]);
    t.equal(after.get(good)?.status, 'succeeded', 'the workflow submitted before kill -9 completed', {
      record: after.get(good),
      firstLog: first.output().slice(-3000),
      secondLog: second.output().slice(-5000),
    });
    t.equal(readFileSync(out, 'utf8'), '42', 'its finish() wrote the result');
    t.equal(after.get(throws)?.status, 'failed', 'the run that threw is not resumed');
    for (let i = 0; i < 100 && (await leaderStatus(base2)).nodes.owned.length > 0; i++) await sleep(200);
    t.same(await liveWorkers(cloud.ec2Url), [], 'no worker left running');
    second.child.kill('SIGTERM');
    t.equal((await second.done).code, 0);
  },
);
