import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { s3Sdk } from '../../src/common/awsSdkPackages.js';
import { createS3Client } from '../../src/main/s3Client.js';
import { startCluster, tempDir, untilTaskRunsOn, waitFor } from '../fixtures/mesosCluster.js';
import { startS3rver } from '../fixtures/s3rver.js';
import { bucketOf } from '../fixtures/storeSnapshot.js';
import { REPO_ROOT, runToil, startToil } from '../fixtures/workflowCli.js';

const REGION = 'us-west-2';
const STORE = `aws:${REGION}:status-lost`;

t.test(
  "toil status names the attempt lost with its spot node (the job, where, why, and that it runs again), and the lost attempt's file is deleted from the S3 job store once the job commits",
  async (t) => {
    const s3rver = await startS3rver();
    t.teardown(() => s3rver.stop());
    const env = { ...s3rver.env };
    // The nodes reach the bucket with an endpoint and credentials of their own, as a cluster's do.
    const resources = 'cpus:2;mem:2048;disk:4096';
    const cluster = await startCluster(
      [
        { resources, attributes: 'preemptable:false', env },
        { resources, attributes: 'preemptable:true', env },
      ],
      { agentPingTimeoutMs: 1000, maxAgentPingTimeouts: 60 },
    );
    t.teardown(() => cluster.stop());
    const spotId = cluster.agentIds[1]!;
    const dir = tempDir('toil-mesos-e2e-status-lost-');
    t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
    const runsFile = path.join(dir, 'runs.txt');
    const runs = (): string[] =>
      (fs.existsSync(runsFile) ? fs.readFileSync(runsFile, 'utf8') : '').split('\n').filter(Boolean);
    const run = startToil(
      [
        ...['run', path.join(REPO_ROOT, 'test/fixtures/workflowRunsCounted.ts'), STORE],
        ...['--batchSystem', 'mesos', '--mesosMaster', cluster.master.address, '--retryCount', '0'],
        ...['--clean', 'never', runsFile, '10000'],
      ],
      { cwd: dir, env },
    );
    t.ok(await untilTaskRunsOn(cluster.master.address, spotId, run.child), 'the job runs on the spot agent');
    // Its line is written after its file: the node goes with a file of the attempt in the store.
    await waitFor('the job on the spot agent to write its file', () => runs().length > 0, 30_000);
    cluster.agents[1]!.kill();
    // The job runs again on the on-demand agent for 10 s: toil status is asked meanwhile.
    let status = '';
    for (let deadline = Date.now() + 30_000; Date.now() < deadline && run.child.exitCode === null;) {
      status = (await runToil(['status', STORE], { env })).stdout;
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
    t.equal(runs().length, 2, 'the job ran twice: lost, then committed');

    const jobId = /tally \(([0-9a-f-]{36})\) attempt 1/.exec(lost[1] ?? '')?.[1] ?? '';
    const s3 = createS3Client(REGION, env);
    t.teardown(() => s3.destroy());
    const { GetObjectCommand, ListObjectsV2Command } = s3Sdk();
    const Bucket = bucketOf(STORE);
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const page = await s3.send(new ListObjectsV2Command({ Bucket, ContinuationToken: token }));
      keys.push(...(page.Contents ?? []).map((o) => o.Key!));
      token = page.NextContinuationToken;
    } while (token);
    const read = async (Key: string): Promise<string> =>
      (await s3.send(new GetObjectCommand({ Bucket, Key }))).Body!.transformToString();
    const commit = JSON.parse(await read(`commits/${jobId}`)) as { attempt: number; returnValue: unknown };
    t.not(commit.attempt, 1, 'the re-run committed');
    const kept = String(commit.returnValue);
    t.match(
      kept,
      new RegExp(`^files/${jobId}/${commit.attempt}/[0-9a-f-]{36}/tally\\.txt$`),
      'its result names its file',
    );
    t.ok(keys.includes(kept), "the committed attempt's file is kept");
    t.equal(await read(kept), `attempt ${commit.attempt}\n`, "the file holds the committed attempt's bytes");
    t.same(
      keys.filter((k) => k.startsWith(`files/${jobId}/`)),
      [kept],
      `the job's files are the committed attempt's alone\n${keys.join('\n')}`,
    );
    t.same(
      keys.filter((k) => k.startsWith(`files/${jobId}/1/`)),
      [],
      "no file under the lost attempt's prefix is left in the bucket",
    );
    t.same(
      keys.filter((k) => k.startsWith('lost/')),
      [],
      "no lost attempt's mark is left",
    );
    t.match(
      result.stderr,
      /deleted 1 file\(s\) that attempts of job 'tally' which did not commit wrote/,
      "the leader says it deleted the lost attempt's file",
    );
  },
);
