import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { ec2Sdk } from '../../src/common/awsSdkPackages.js';
import { SlurmCli } from '../../src/slurm/cli.js';
import { parseAttemptComment } from '../../src/slurm/jobScript.js';
import { importTestKeyPair, testEc2Client } from '../fixtures/ec2Local.js';
import { byteSorted, FAST_SCALING, nonEmptyLines, startToilProcess } from '../fixtures/leaderE2e.js';
import { MOTO_MISSING_REASON, motoAvailable, startMoto } from '../fixtures/motoServer.js';
import { needsSlurm, toilJobCompletions } from '../fixtures/slurmCluster.js';
import { REPO_ROOT, runToil } from '../fixtures/workflowCli.js';
import { testDir } from '../fixtures/testDir.js';
import { pythonTool } from '../fixtures/pythonTool.js';

const { DescribeInstancesCommand } = ec2Sdk();

/**
 * The seed's autoscaling form with Slurm, each step its own process as a person runs them:
 * `toil localcloud --batchSystem slurm` (EC2 endpoint + a real slurmctld; running workers become
 * slurmd), `launch-cluster --clusterType slurm`, `toil run … --provisioner aws --batchSystem slurm`
 * (the scaler in the run's process), `destroy-cluster`; then nothing of the cluster runs. SSM is
 * moto's: the cluster's munge key is there after launch-cluster and gone after destroy-cluster
 * (read with the image's `aws` CLI, an independent client).
 */
const run = promisify(execFile);
// Four toil processes, a controller and the workers' slurmd on a busy two-core machine.
t.setTimeout(360_000);

t.test(
  'launch-cluster --clusterType slurm, toil run --provisioner aws --batchSystem slurm, destroy-cluster: sorted on autoscaled Slurm workers, nothing left running',
  { skip: needsSlurm() || (motoAvailable() ? undefined : MOTO_MISSING_REASON) },
  async (t) => {
    const dir = testDir(t, {});
    // moto and the local cloud start side by side: neither needs the other.
    const motoStarting = startMoto();
    t.teardown(async () => (await motoStarting.catch(() => undefined))?.stop());
    const awsSsm = (args: string[]): Promise<{ stdout: string }> =>
      run(pythonTool('aws'), ['ssm', ...args, '--output', 'json'], {
        env: {
          PATH: process.env.PATH,
          HOME: dir,
          AWS_ENDPOINT_URL_SSM: moto.endpoint,
          AWS_ACCESS_KEY_ID: 'testing',
          AWS_SECRET_ACCESS_KEY: 'testing',
          AWS_DEFAULT_REGION: 'us-west-2',
        },
      });
    const cloud = startToilProcess(
      ['localcloud', '--batchSystem', 'slurm', '--boot-delay', '300ms', '--shutdown-delay', '200ms'],
      { cwd: dir },
    );
    t.teardown(async () => {
      cloud.child.kill('SIGTERM');
      await cloud.done;
    });
    const ec2Url = (await cloud.waitFor(/export AWS_ENDPOINT_URL_EC2=(\S+)/, 60_000))[1]!;
    const slurmConf = (await cloud.waitFor(/export SLURM_CONF=(\S+)/, 60_000))[1]!;
    const moto = await motoStarting;
    const slurm = new SlurmCli({ conf: slurmConf });
    const ec2 = testEc2Client(ec2Url);
    t.teardown(() => ec2.destroy());
    await importTestKeyPair(ec2);
    const env = {
      AWS_ENDPOINT_URL_EC2: ec2Url,
      AWS_ACCESS_KEY_ID: 'AKIDLOCAL',
      AWS_SECRET_ACCESS_KEY: 'local',
      TOIL_APPLIANCE_SELF: 'quay.io/ucsc_cgl/toil:9.1.0',
      SLURM_CONF: slurmConf,
      AWS_ENDPOINT_URL_SSM: moto.endpoint,
    };
    const live = async (): Promise<string[]> =>
      (
        (
          await ec2.send(
            new DescribeInstancesCommand({ Filters: [{ Name: 'tag:clusterName', Values: ['lc'] }] }),
          )
        ).Reservations ?? []
      )
        .flatMap((r) => r.Instances ?? [])
        .filter((i) => i.State?.Name === 'pending' || i.State?.Name === 'running')
        .map((i) => i.InstanceId!);

    const launch = await runToil(
      [
        'launch-cluster',
        'lc',
        '--clusterType',
        'slurm',
        '--leaderNodeType',
        't2.medium',
        '--keyPairName',
        'e2e',
        '--zone',
        'us-west-2a',
      ],
      { cwd: dir, env },
    );
    t.equal(launch.code, 0, `launch-cluster exits 0 ${launch.stderr}`);
    t.equal((await live()).length, 1, 'the leader alone runs');
    const stored = JSON.parse(
      (await awsSsm(['get-parameter', '--name', '/toil/lc/munge-key', '--with-decryption'])).stdout,
    ) as { Parameter: { Type: string; Value: string } };
    t.equal(stored.Parameter.Type, 'SecureString', 'the munge key is an SSM SecureString');
    t.equal(Buffer.from(stored.Parameter.Value, 'base64').length, 1024, 'of 1024 random bytes');

    const sort = await runToil(
      [
        'run',
        path.join(REPO_ROOT, 'examples/sort.ts'),
        'file:js',
        ...['--numLines', '200', '--N', '1500', '--fileToSort', 'in.txt', '--outputFile', 'out.txt'],
        ...['--provisioner', 'aws', '--batchSystem', 'slurm', '--nodeType', 't2.medium', '--maxNodes', '2'],
        ...FAST_SCALING,
        ...['--zone', 'us-west-2a', '--clusterName', 'lc', '--retryCount', '0', '--logLevel', 'info'],
        // Toil's Slurm flags, as on a static Slurm cluster: they reach every job of the autoscaled one.
        ...['--slurmTime', '0:30:00', '--batchLogsDir', './logs'],
      ],
      { cwd: dir, env },
    );
    t.equal(sort.code, 0, `toil run exits 0\n${sort.stderr.slice(-3000)}`);
    t.match(sort.stderr, /workflow succeeded: \d+ jobs run/, 'the workflow succeeded');
    t.same(
      nonEmptyLines(path.join(dir, 'out.txt')),
      byteSorted(nonEmptyLines(path.join(dir, 'in.txt'))),
      'sorted correctly',
    );
    // Slurm's records: every toil job completed there, on nodes named by worker instances.
    const jobs = (await slurm.jobs()).filter((j) => parseAttemptComment(j.comment));
    const jobsRun = Number(/workflow succeeded: (\d+) jobs run/.exec(sort.stderr)?.[1]);
    t.equal(
      jobs.filter((j) => j.state === 'COMPLETED').length,
      jobsRun,
      `Slurm completed the ${jobsRun} jobs`,
    );
    t.ok(
      jobs.every((j) => /^i-[0-9a-f]+$/.test(j.nodes)),
      `they ran on worker instances (${[...new Set(jobs.map((j) => j.nodes))].join(', ')})`,
    );
    // The controller's job completion log: an independent record of what each job was given.
    const comp = toilJobCompletions(path.dirname(slurmConf));
    t.equal(comp.length, jobs.length, 'jobcomp has every job');
    t.ok(
      comp.every((l) => / TimeLimit=30 /.test(l)),
      `--slurmTime 0:30:00: every job's time limit is 30 minutes (${comp[0]})`,
    );
    const logs = fs.readdirSync(path.join(dir, 'logs'));
    t.ok(
      jobs.every((j) => logs.some((f) => f.endsWith(`_batch_slurm_${j.jobId}_std_error.log`))),
      `--batchLogsDir: every job's stderr file is there (${logs.length} files)`,
    );
    t.same(
      (await slurm.nodes()).filter((n) => n.state !== 'future').map((n) => n.name),
      [],
      'the run deleted its nodes from Slurm',
    );

    const destroy = await runToil(['destroy-cluster', 'lc', '--zone', 'us-west-2a'], { cwd: dir, env });
    t.equal(destroy.code, 0, `destroy-cluster exits 0 ${destroy.stderr}`);
    t.same(await live(), [], 'no instance of the cluster pending or running');
    const gone = await awsSsm(['get-parameter', '--name', '/toil/lc/munge-key']).then(
      () => 'still there',
      (e: Error & { stderr?: string }) => e.stderr ?? e.message,
    );
    t.match(gone, /ParameterNotFound/, 'destroy-cluster deleted the munge key');
    // No slurmd of this controller is left (each runs with a conf under the controller's dir).
    const controllerDir = path.dirname(slurmConf);
    const slurmds = fs
      .readdirSync('/proc')
      .filter((p) => /^\d+$/.test(p))
      .map((p) => {
        try {
          return fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').replace(/\0/g, ' ');
        } catch {
          return '';
        }
      })
      .filter((c) => c.startsWith('slurmd ') && c.includes(controllerDir));
    t.same(slurmds, [], 'no slurmd of the cluster runs');
  },
);
