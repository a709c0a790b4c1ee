import { RealClock } from '../common/clock.js';
import { checkProvisioner, progressTo } from '../provisioner/cluster/cliSupport.js';
import { addClusterLoggingOptions, clusterLogger, type ClusterLoggingFlags } from './clusterLogging.js';
import { validateClusterName } from '../provisioner/cluster/validate.js';
import { checkPlace, clusterRegion } from './clusterLeader.js';
import type { SubCommand } from './main.js';
import { onStopSignals, signalExitCode } from './untilSignal.js';

export const command: SubCommand = {
  register(program, setExitCode) {
    const cmd = program
      .command('destroy-cluster')
      .description(
        "Remove everything a cluster made: leader first, then workers, spot requests, the security group, its IAM roles and instance profiles, a Slurm cluster's munge key.",
      )
      .argument('<clusterName>')
      .option('-p, --provisioner <name>', 'the cloud (aws)', 'aws')
      .option(
        '-z, --zone <zone>',
        'availability zone (default: TOIL_AWS_ZONE; a region will do: TOIL_AWS_REGION, AWS_REGION, the AWS profile)',
      );
    addClusterLoggingOptions(cmd).action(
      async (name: string, f: { provisioner?: string; zone?: string } & ClusterLoggingFlags) => {
        const clusterName = validateClusterName(name);
        checkProvisioner(f.provisioner);
        const place = await clusterRegion(f.zone);
        const { region } = place;
        const log = clusterLogger(f);
        const clock = new RealClock();
        // The AWS SDK and the provisioner load once the input is accepted.
        const [
          { createClusterCalls, createIamClient, createSsmClient },
          { destroyCluster },
          { clusterIamAndKey },
          { interruptedDestroyLine, newDestroyProgress },
          { createClusterS3Client },
          { clusterJobStores },
        ] = await Promise.all([
          import('../main/awsClients.js'),
          import('../provisioner/cluster/destroyCluster.js'),
          import('./clusterIamAndKey.js'),
          import('../provisioner/cluster/destroyProgress.js'),
          import('../main/s3Client.js'),
          import('../provisioner/aws/clusterJobStores.js'),
        ]);
        const { calls, close } = await createClusterCalls({ region, clock, log });
        try {
          await checkPlace(calls, clusterName, place, clock, log);
        } catch (e) {
          close();
          throw e;
        }
        const iamClient = await createIamClient(process.env);
        const ssmClient = await createSsmClient(region, process.env);
        const s3Client = createClusterS3Client(region, process.env);
        // Ctrl-C stops at once, saying what was done and what may be left; every step is safe to
        // run again, so a second destroy-cluster finishes the job.
        const done = newDestroyProgress();
        const offSignals = onStopSignals((signal) => {
          process.stderr.write(`toil: ${interruptedDestroyLine(clusterName, signal, done)}\n`);
          process.exit(signalExitCode(signal));
        });
        try {
          await destroyCluster(
            clusterName,
            {
              calls,
              clock,
              log,
              progress: progressTo(process.stdout),
              ...clusterIamAndKey({
                iamClient,
                ssmClient,
                clusterName,
                region,
                clock,
                log,
                env: process.env,
              }),
              done,
              ...(s3Client && { jobStoresLeft: () => clusterJobStores(s3Client, clusterName) }),
            },
            { timeoutMs: 15 * 60_000, pollMs: 1000, region },
          );
          setExitCode(0);
        } finally {
          offSignals();
          close();
          iamClient?.destroy();
          ssmClient?.destroy();
          s3Client?.destroy();
        }
      },
    );
  },
};
