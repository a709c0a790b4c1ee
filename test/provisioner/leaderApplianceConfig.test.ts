import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { RealClock } from '../../src/common/clock.js';
import { ConfigError } from '../../src/common/configErrors.js';
import { silentLogger } from '../../src/common/log.js';
import { parseLeaderConfig } from '../../src/leader/leaderConfig.js';
import { LOCAL_IMAGE } from '../../src/localcloud/ec2/catalogue.js';
import { AwsProvisioner, type AwsClusterSettings } from '../../src/provisioner/aws/awsProvisioner.js';
import type { IgnitionConfig } from '../../src/provisioner/aws/userData.js';
import { readCatalogue } from '../../src/scaler/catalogueFile.js';
import { createClusterGroup, startTestEndpoint, testCalls, testEc2Client } from '../fixtures/ec2Local.js';
import { runToil } from '../fixtures/workflowCli.js';
import { testDir } from '../fixtures/testDir.js';

/**
 * The leader appliance starts `toil leader --config=/etc/toil/leader.yaml`, a file its user data
 * writes. Read back the way the instance reads it (IMDSv2 user-data of a leader launched on the
 * local EC2 endpoint), that file must be a config the daemon's own parser accepts.
 */
const catalogue = await readCatalogue();

const settings = (over: Partial<AwsClusterSettings> = {}): AwsClusterSettings => ({
  clusterName: 'sort-cluster',
  zone: 'us-west-2a',
  imageId: LOCAL_IMAGE.imageId,
  applianceImage: 'quay.io/ucsc_cgl/toil:9.1.0',
  owner: 'alice',
  extraTags: { project: 'genomes' },
  nodeStorageGiB: 50,
  leaderStorageGiB: 50,
  ...over,
});

/** The instance's user data through IMDSv2, once it runs (the service answers running instances). */
async function userDataOf(ec2Url: string, instanceId: string): Promise<IgnitionConfig> {
  const base = `${ec2Url}/imds/${instanceId}/latest`;
  let tokenReply: Response | undefined;
  for (let i = 0; i < 100; i++) {
    tokenReply = await fetch(`${base}/api/token`, {
      method: 'PUT',
      headers: { 'x-aws-ec2-metadata-token-ttl-seconds': '60' },
    });
    if (tokenReply.status !== 404) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  if (tokenReply?.status !== 200) throw new Error(`no metadata service for ${instanceId}`);
  const token = await tokenReply.text();
  const r = await fetch(`${base}/user-data`, { headers: { 'x-aws-ec2-metadata-token': token } });
  return JSON.parse(await r.text()) as IgnitionConfig;
}

function leaderYaml(ignition: IgnitionConfig): string {
  const file = ignition.storage.files.find((f) => f.path === '/etc/toil/leader.yaml');
  if (!file) throw new Error('no /etc/toil/leader.yaml in the user data');
  return decodeURIComponent(file.contents.source.replace(/^data:,/, ''));
}

t.test(
  "the leader's user data writes a leader.yaml that parseLeaderConfig and `toil config check` accept",
  async (t) => {
    const endpoint = await startTestEndpoint();
    t.teardown(() => endpoint.stop());
    const client = testEc2Client(endpoint.url);
    t.teardown(() => client.destroy());
    const calls = testCalls(client);
    await createClusterGroup(calls, 'sort-cluster', 'us-west-2a');
    const launchLeader = async (over: Partial<AwsClusterSettings>, token: string): Promise<string> => {
      const p = new AwsProvisioner({
        calls,
        settings: settings(over),
        clock: new RealClock(),
        log: silentLogger(),
      });
      const r = await p.launch({
        offering: { instanceType: 'm5.large', zone: 'us-west-2a', market: 'on-demand' },
        count: 1,
        clientToken: token,
        role: 'leader',
      });
      return r.nodes[0]!.instanceId;
    };

    const withTypes = await launchLeader(
      {
        workerNodeTypes: [
          { instanceType: 'c5.large', market: 'on-demand' },
          { instanceType: 'c5.large', market: 'spot', bid: 0.05 },
        ],
      },
      'leader-a',
    );
    const text = leaderYaml(await userDataOf(endpoint.url, withTypes));
    const cfg = parseLeaderConfig(text, catalogue, '/etc/toil/leader.yaml');
    t.match(cfg.provisioner, {
      kind: 'aws',
      region: 'us-west-2',
      zone: 'us-west-2a',
      clusterName: 'sort-cluster',
      applianceImage: 'quay.io/ucsc_cgl/toil:9.1.0',
      tags: { project: 'genomes', clusterName: 'sort-cluster', Owner: 'alice' },
    });
    t.same(cfg.batchSystem, { kind: 'mesos', mesosMaster: '127.0.0.1:5050' }, 'the master beside it');
    t.same(cfg.http, { ...cfg.http, host: '0.0.0.0', port: 8080 }, 'served where the HEALTHCHECK looks');
    t.equal(cfg.scaler.region, 'us-west-2');
    t.same(
      cfg.scaler.nodeTypes.map((n) => n.label),
      ['c5.large', 'c5.large:0.05'],
      'scales the worker node types it was given',
    );
    t.notMatch(text, /AKIA|aws_secret|SecretAccessKey/i, 'no credential in the config');

    // Without worker types, the leader's own type; the same file passes `toil config check`.
    const plain = await launchLeader({}, 'leader-b');
    const plainText = leaderYaml(await userDataOf(endpoint.url, plain));
    t.same(
      parseLeaderConfig(plainText, catalogue).scaler.nodeTypes.map((n) => n.label),
      ['m5.large'],
      "default: the leader's own instance type, on-demand",
    );
    const dir = testDir(t, {});
    const path = join(dir, 'leader.yaml');
    writeFileSync(path, plainText);
    const check = await runToil(['config', 'check', path]);
    t.equal(check.code, 0, `toil config check: exit 0 ${check.stderr}`);
    t.match(
      check.stdout,
      /OK \(policy cost, 1 node type\(s\): m5\.large .*provisioner aws; http 0\.0\.0\.0:8080\)/,
    );

    // launch-cluster --clusterType slurm: the daemon drives the cluster's Slurm controller.
    const slurm = await launchLeader({ clusterType: 'slurm' }, 'leader-c');
    t.same(
      parseLeaderConfig(leaderYaml(await userDataOf(endpoint.url, slurm)), catalogue).batchSystem,
      { kind: 'slurm', slurmConf: '/etc/slurm/slurm.conf' },
      '--clusterType slurm: the leader daemon drives Slurm through /etc/slurm/slurm.conf',
    );

    // The keys the appliance used to write (top-level clusterName/zone, provisioner: aws) are what
    // the strict schema rejects: the check above is not vacuous.
    const old =
      'clusterName: "c"\nzone: "us-west-2a"\nprovisioner: aws\nbatchSystem: mesos\nmesosMaster: "127.0.0.1:5050"\n';
    t.throws(() => parseLeaderConfig(old, catalogue), ConfigError);
  },
);
