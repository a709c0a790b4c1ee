import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { MesosMasterClient } from '../../src/mesos/masterClient.js';
import type { StateTask } from '../../src/mesos/types.js';
import {
  leaderOnCloud,
  localCloudInstances,
  startClusterCloud,
  startToilProcess,
  taskLabel,
  type LocalCloudInstance,
} from '../fixtures/leaderE2e.js';
import { repoPath } from '../fixtures/repoRoot.js';
import { testDir } from '../fixtures/testDir.js';
import { waitFor } from '../fixtures/waitFor.js';

/**
 * A spot notice that comes between two scaler ticks keeps new jobs off its node at the next
 * `tick.noticePoll` read, not at the next tick: `toil leader` on `toil localcloud` (real
 * processes, a real Mesos master and agents), a scaleInterval of a minute, a notice of a minute
 * (`--spot-notice 60s`) given through the local cloud while `gate` holds one of its node's two
 * cores. Three seconds after the notice, `gate` ends and its child `late` is issued: the node still
 * has room for it, but `late` must start elsewhere (the replacement the notice's tick launched).
 * Checked in the Mesos master's records and the cloud's, not the daemon's own view.
 *
 * `queueDebounce` is 4 s here so that the tick the queue change of `late` wakes cannot be what
 * keeps `late` off the node: only the notice's own read can.
 */
t.setTimeout(60_000);

t.test(
  'no job starts on a node once its spot notice is read, though no tick is due for a minute',
  async (t) => {
    const dir = testDir(t, {});
    const cloud = await startClusterCloud(t, 'noticepoll', { args: ['--spot-notice', '60s'] });
    const { base } = await leaderOnCloud(t, dir, cloud, 'noticepoll', [
      ['scaleInterval: 1s', 'scaleInterval: 60s'],
      ['queueDebounce: 500ms', 'queueDebounce: 4s\n  noticePoll: 1s'],
      ['preemptableCompensation: 1', 'preemptableCompensation: 0'],
      ['bootTime: 5s', 'bootTime: 1s'],
    ]);

    const master = new MesosMasterClient(cloud.mesosMaster);
    const cloudInstances = (): Promise<LocalCloudInstance[]> => localCloudInstances(cloud.ec2Url);
    /** Each job's newest task in the master, and the private address of the agent it went to. */
    const tasksOf = async (name: string): Promise<{ task: StateTask; host: string | undefined }[]> => {
      const s = await master.state();
      const hostOf = new Map(s.slaves.map((a) => [a.id, a.hostname]));
      return s.frameworks
        .flatMap((f) => [...f.tasks, ...f.completed_tasks])
        .filter((task) => taskLabel(task, 'toil.jobId') && task.name.includes(name))
        .map((task) => ({ task, host: hostOf.get(task.slave_id) }));
    };

    const release = join(dir, 'release');
    const client = startToilProcess(
      [
        'run',
        repoPath('test/fixtures/workflowSpotNoticeGate.ts'),
        `file:${dir}/js`,
        '--leader',
        base,
        release,
      ],
      { cwd: dir, env: { TOIL_LEADER_TOKEN_FILE: `${dir}/state.token` } },
    );
    t.teardown(() => void client.child.kill('SIGKILL'));

    let gate: { task: StateTask; host: string | undefined } | undefined;
    await waitFor(
      'gate running on a spot node',
      async () => (gate = (await tasksOf('gate')).find((x) => x.task.state === 'TASK_RUNNING')) !== undefined,
      30_000,
      100,
    );
    const noticed = (await cloudInstances()).find((i) => i.privateIp === gate!.host);
    t.equal(noticed?.market, 'spot', 'gate runs on a spot node, one of its two cores');

    const r = await fetch(`${cloud.ec2Url}/_localcloud/spot-interruption/${noticed!.instanceId}`, {
      method: 'POST',
    });
    t.equal(r.status, 200, 'the cloud gives the node its notice, a minute ahead of the reclaim');
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    writeFileSync(release, '');

    let late: { task: StateTask; host: string | undefined } | undefined;
    await waitFor(
      'late started',
      async () =>
        (late = (await tasksOf('late')).find((x) =>
          ['TASK_RUNNING', 'TASK_FINISHED'].includes(x.task.state),
        )) !== undefined,
      30_000,
      100,
    );
    const startedOn = (await cloudInstances()).find((i) => i.privateIp === late!.host);
    t.not(
      startedOn?.instanceId,
      noticed!.instanceId,
      `late, issued 3 s after the notice, started on ${startedOn?.instanceId} (${startedOn?.market}), not on the noticed node`,
    );
    t.ok(
      (await tasksOf('late')).every((x) => x.host !== noticed!.privateIp),
      'no attempt of late was ever placed on the noticed node',
    );
    const result = await client.done;
    t.equal(result.code, 0, `the workflow succeeds\n${result.stderr.slice(-2000)}`);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    t.match(metrics, /toil_spot_interruption_notices_total 1\b/, 'the notice counted once');
  },
);
