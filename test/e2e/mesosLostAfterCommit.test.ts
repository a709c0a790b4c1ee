import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { startOnDemandAndSpot, tempDir, untilTaskRunsOn } from '../fixtures/mesosCluster.js';
import { REPO_ROOT, startToil } from '../fixtures/workflowCli.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

t.test(
  'a spot node that goes after its job committed, before it could say so: the job is not run again',
  async (t) => {
    // The master never gives up on a silent agent within the test: the loss is the node's end.
    const cluster = await startOnDemandAndSpot({ agentPingTimeoutMs: 1000, maxAgentPingTimeouts: 60 });
    t.teardown(() => cluster.stop());
    const spot = cluster.agents[1]!;
    const spotId = cluster.agentIds[1]!;
    const dir = tempDir('toil-mesos-e2e-lost-committed-');
    t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
    const runsFile = path.join(dir, 'runs.txt');
    const run = startToil(
      [
        ...[
          'run',
          path.join(REPO_ROOT, 'test/fixtures/workflowRunsCounted.ts'),
          `file:${path.join(dir, 'js')}`,
        ],
        ...['--batchSystem', 'mesos', '--mesosMaster', cluster.master.address, '--retryCount', '0'],
        ...['--writeMessages', 'm.jsonl', runsFile, '3000'],
      ],
      { cwd: dir },
    );
    const running = await untilTaskRunsOn(cluster.master.address, spotId, run.child);
    t.ok(running, 'the job runs on the spot agent');
    // The node's agent stops answering (frozen, as a machine going down is); the job's own process
    // runs on and commits, but the word of it never leaves the node.
    process.kill(spot.pid, 'SIGSTOP');
    const commits = path.join(dir, 'js', 'objects', 'commits%');
    let committed = false;
    for (let deadline = Date.now() + 30_000; !committed && Date.now() < deadline; await sleep(50))
      committed = fs.existsSync(commits) && fs.readdirSync(commits).length > 0;
    t.ok(committed, 'the job committed while its node was silent');
    spot.kill();
    const result = await run.done;
    t.equal(result.code, 0, `the workflow succeeded\n${result.stderr.slice(-2500)}`);
    t.equal(
      fs.readFileSync(runsFile, 'utf8').split('\n').filter(Boolean).length,
      1,
      'the job ran once: its commit was found when its node was lost',
    );
    t.match(
      result.stderr,
      /job 'tally' lost \(.*\) after it had committed: its result stands, not run again/,
    );
    t.notMatch(result.stderr, /running it again/, 'no re-run announced');
    // A consumer of the messages sees the attempt complete: its commit stands.
    const events = fs
      .readFileSync(path.join(dir, 'm.jsonl'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { event: string; name: string; attempt?: number; message?: string })
      .filter((e) => e.name === 'tally');
    t.same(
      events.map((e) => `${e.event} ${e.attempt}`),
      ['issued 1', 'completed 1'],
      '--writeMessages: the attempt issued, then completed (not lost)',
    );
    t.match(
      events[1]?.message,
      /^lost: .* after it had committed: its result stands$/,
      'the completion says its node was lost after the commit',
    );
  },
);
