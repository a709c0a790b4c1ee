import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { startOnDemandAndSpot, tempDir, untilTaskRunsOn } from '../fixtures/mesosCluster.js';
import { REPO_ROOT, runToil, startToil } from '../fixtures/workflowCli.js';

t.test(
  'toil status names the attempt lost with its spot node: the job, where, why, and that it runs again',
  async (t) => {
    const cluster = await startOnDemandAndSpot({ agentPingTimeoutMs: 1000, maxAgentPingTimeouts: 60 });
    t.teardown(() => cluster.stop());
    const spotId = cluster.agentIds[1]!;
    const dir = tempDir('toil-mesos-e2e-status-lost-');
    t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
    const store = `file:${path.join(dir, 'js')}`;
    const run = startToil(
      [
        ...['run', path.join(REPO_ROOT, 'test/fixtures/workflowRunsCounted.ts'), store],
        ...['--batchSystem', 'mesos', '--mesosMaster', cluster.master.address, '--retryCount', '0'],
        ...[path.join(dir, 'runs.txt'), '10000'],
      ],
      { cwd: dir },
    );
    t.ok(await untilTaskRunsOn(cluster.master.address, spotId, run.child), 'the job runs on the spot agent');
    cluster.agents[1]!.kill();
    // The job runs again on the on-demand agent for 10 s: toil status is asked meanwhile.
    let status = '';
    for (let deadline = Date.now() + 30_000; Date.now() < deadline && run.child.exitCode === null;) {
      status = (await runToil(['status', store])).stdout;
      if (/^lost:/m.test(status)) break;
    }
    const lost = status.split('\n').filter((l) => /^\s*lost:/.test(l));
    t.equal(lost.length, 2, `a count and one attempt\n${status}`);
    t.equal(lost[0], 'lost:       1 attempt(s) lost with their node in this run');
    t.match(
      lost[1],
      new RegExp(
        `^  lost:     tally \\([0-9a-f-]{36}\\) attempt 1, (?:\\d+ms|(?:\\d+m)?\\d+s) ago: lost: its node \\S+ disconnected from the Mesos master on ${spotId}; run again \\(no retry spent\\)$`,
      ),
      'which job and attempt, when, the node and why, and what followed',
    );
    const result = await run.done;
    t.equal(result.code, 0, `the workflow succeeded\n${result.stderr.slice(-2000)}`);
  },
);
