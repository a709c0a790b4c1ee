/**
 * destroy-cluster removes what the cluster made in EC2 and IAM, not its job stores (their data may
 * be wanted), which bill until `toil clean` removes them. Toil's docs say destroy-cluster "ensures
 * that all attached nodes, volumes, security groups, etc. are deleted"; a job store made on the
 * cluster was left without a word. Now a job store's bucket carries TOIL_OWNER_TAG and
 * TOIL_AWS_TAGS as Toil's does (a node's TOIL_AWS_TAGS holds its clusterName), and destroy-cluster
 * names every such bucket of the cluster still there, with the command that removes it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { s3Sdk } from '../../src/common/awsSdkPackages.js';
import { endpointWithKeyPair } from '../fixtures/ec2Local.js';
import { runToil } from '../fixtures/ec2ToilCli.js';
import { MOTO_MISSING_REASON, motoAvailable, motoS3Client, motoWithS3 } from '../fixtures/motoServer.js';
import { runToil as runWorkflowToil, REPO_ROOT } from '../fixtures/workflowCli.js';

const { CreateBucketCommand, GetBucketTaggingCommand, PutBucketTaggingCommand } = s3Sdk();

t.setTimeout(240_000);

t.test(
  "destroy-cluster names the cluster's job stores still in S3, each with its toil clean",
  { skip: motoAvailable() ? false : MOTO_MISSING_REASON },
  async (t) => {
    const { moto, env: s3Env, s3 } = await motoWithS3(t);
    const s3East = motoS3Client(moto, 'us-east-1');
    t.teardown(() => s3East.destroy());
    const { env: ec2Env } = await endpointWithKeyPair(t);
    const env = { ...ec2Env, ...s3Env };
    const launch = await runToil(
      [
        'launch-cluster',
        'lab',
        '--leaderNodeType',
        't2.medium',
        '--keyPairName',
        'k',
        '--zone',
        'us-west-2a',
      ],
      env,
    );
    t.equal(launch.code, 0, launch.stderr);

    // A workflow run as on the cluster's leader: its environment has the cluster's tags.
    const dir = mkdtempSync(join(tmpdir(), 'toil-destroy-stores-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const run = await runWorkflowToil(
      [
        ...['run', join(REPO_ROOT, 'examples/fanout.ts'), 'aws:us-west-2:made-on-lab'],
        ...['--jobs', '1', '--clean', 'never', '--disableProgress'],
      ],
      {
        cwd: dir,
        env: { ...s3Env, TOIL_AWS_TAGS: '{"clusterName": "lab", "team": "x"}', TOIL_OWNER_TAG: 'ana' },
      },
    );
    t.equal(run.code, 0, run.stderr.slice(-2000));
    const tagging = await s3.send(new GetBucketTaggingCommand({ Bucket: 'made-on-lab--toil' }));
    t.same(
      Object.fromEntries((tagging.TagSet ?? []).map((x) => [x.Key, x.Value])),
      { Owner: 'ana', clusterName: 'lab', team: 'x' },
      "the job store's bucket has TOIL_OWNER_TAG and TOIL_AWS_TAGS, as Toil's has",
    );

    // Others: the cluster's, of another region; another cluster's; one without tags; a bucket of
    // the cluster's that is no job store's.
    const bucket = async (name: string, region: string, tags?: Record<string, string>): Promise<void> => {
      await (region === 'us-east-1' ? s3East : s3).send(
        new CreateBucketCommand({
          Bucket: name,
          ...(region !== 'us-east-1' && {
            CreateBucketConfiguration: { LocationConstraint: region as 'eu-west-1' },
          }),
        }),
      );
      if (tags)
        await s3.send(
          new PutBucketTaggingCommand({
            Bucket: name,
            Tagging: { TagSet: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) },
          }),
        );
    };
    await bucket('east-of-lab--toil', 'us-east-1', { clusterName: 'lab' });
    await bucket('of-another--toil', 'us-west-2', { clusterName: 'another' });
    await bucket('untagged--toil', 'us-west-2');
    await bucket('lab-logs', 'us-west-2', { clusterName: 'lab' });

    const destroy = await runToil(['destroy-cluster', 'lab', '--zone', 'us-west-2a'], env);
    t.equal(destroy.code, 0, destroy.stderr);
    const lines = destroy.stdout.split('\n');
    t.match(lines, [/^terminating leader i-/], 'the cluster is destroyed');
    const named = lines.filter((l) => l.includes('job store'));
    t.same(
      named,
      [
        "job store aws:us-east-1:east-of-lab (bucket east-of-lab--toil), made on cluster 'lab', still exists and bills until removed: toil clean aws:us-east-1:east-of-lab",
        "job store aws:us-west-2:made-on-lab (bucket made-on-lab--toil), made on cluster 'lab', still exists and bills until removed: toil clean aws:us-west-2:made-on-lab",
      ],
      "the cluster's two job stores, each once, after the destroy",
    );
    t.ok(
      lines.indexOf(named[0]!) > lines.findIndex((l) => l === "cluster 'lab' destroyed"),
      'named once the cluster is destroyed',
    );

    const clean = await runWorkflowToil(['clean', 'aws:us-west-2:made-on-lab'], { cwd: dir, env: s3Env });
    t.equal(clean.code, 0, clean.stderr);
    const again = await runToil(['destroy-cluster', 'lab', '--zone', 'us-west-2a'], env);
    t.equal(again.code, 0, again.stderr);
    t.same(
      again.stdout.split('\n').filter((l) => l.includes('job store')),
      [
        "job store aws:us-east-1:east-of-lab (bucket east-of-lab--toil), made on cluster 'lab', still exists and bills until removed: toil clean aws:us-east-1:east-of-lab",
      ],
      'a job store cleaned is no longer named',
    );
  },
);
