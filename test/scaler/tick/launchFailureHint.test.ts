import t from 'tap';
import { ManualClock } from '../../../src/common/clock.js';
import { UserInputError } from '../../../src/common/errors.js';
import { createLogger } from '../../../src/common/log.js';
import { createLeaderMetrics } from '../../../src/leader/metrics.js';
import { launchFailure } from '../../../src/cli/runAutoscaled.js';
import { translateEc2Error } from '../../../src/provisioner/aws/ec2Errors.js';
import { ClusterScaler } from '../../../src/scaler/tick/clusterScaler.js';
import {
  FakeAgents,
  MemoryTickStore,
  RecordingProvisioner,
  capturedLog,
  preemptableJobs,
  tickTestConfig,
} from '../../fixtures/leaderFakes.js';

/**
 * A launch EC2 refuses with one of its *.NotFound codes stops `toil run --provisioner aws` with a
 * hint of what to fix. InvalidGroup.NotFound (the cluster's security group deleted: the cluster
 * destroyed under the run) was told to check the image, the key pair and the subnet, none of
 * which is missing; the cloud's own code now picks the hint when it knows better than its class.
 */
async function stopFor(ec2Name: string, ec2Message: string): Promise<Error> {
  const clock = new ManualClock();
  const provisioner = new RecordingProvisioner(clock);
  const agents = new FakeAgents();
  const cfg = tickTestConfig({}, { fatalBackoff: '10m' });
  const scaler = new ClusterScaler({
    provisioner,
    cluster: agents,
    store: new MemoryTickStore(),
    clock,
    log: createLogger({ level: 'debug', destination: capturedLog().destination }),
    metrics: createLeaderMetrics({ withProcessMetrics: false }),
    config: () => cfg,
  });
  // What the SDK throws for EC2's <Code>, translated as the AWS provisioner translates it.
  const sdkError = Object.assign(new Error(ec2Message), {
    name: ec2Name,
    $metadata: { httpStatusCode: 400, requestId: 'r-1' },
  });
  for (const market of ['spot', 'on-demand'])
    provisioner.failing.set(`t2.medium/us-west-2a/${market}`, () =>
      translateEc2Error(sdkError, 'RunInstances'),
    );
  agents.queued = preemptableJobs(2);
  await scaler.tick();
  const [fatal, ...more] = scaler.fatalErrors;
  if (fatal === undefined || more.length > 0)
    throw new Error(`expected one fatal error, got ${more.length + 1}`);
  return launchFailure(fatal);
}

t.test("a deleted security group is said to be the cluster's, gone", async (t) => {
  const err = await stopFor('InvalidGroup.NotFound', "The security group 'sg-0123' does not exist");
  t.ok(err instanceof UserInputError, 'the setup to fix: exit 2');
  t.equal(
    err.message,
    "cannot launch nodes (any): NOT_FOUND: EC2 RunInstances failed: InvalidGroup.NotFound: The security group 'sg-0123' does not exist; the cluster's security group is gone: was the cluster destroyed (toil destroy-cluster)? toil launch-cluster makes it again",
  );
  t.notMatch(err.message, /TOIL_AWS_AMI/, 'not blamed on the image');
});

t.test('another missing resource keeps the hint of what the launch names', async (t) => {
  const err = await stopFor('InvalidAMIID.NotFound', "The image id '[ami-0123]' does not exist");
  t.ok(err instanceof UserInputError);
  t.equal(
    err.message,
    "cannot launch nodes (any): NOT_FOUND: EC2 RunInstances failed: InvalidAMIID.NotFound: The image id '[ami-0123]' does not exist; something the launch names is missing (the image: TOIL_AWS_AMI; the key pair; the subnet)",
  );
});
