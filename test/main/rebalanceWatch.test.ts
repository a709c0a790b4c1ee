import t, { type Test } from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { ec2Sdk } from '../../src/common/awsSdkPackages.js';
import { RealClock } from '../../src/common/clock.js';
import { createLogger, type Logger } from '../../src/common/log.js';
import type { NodeCommandSpec } from '../../src/localcloud/ec2/agents.js';
import { LOCAL_IMAGE } from '../../src/localcloud/ec2/catalogue.js';
import type { Ec2Endpoint } from '../../src/localcloud/ec2/index.js';
import {
  watchRebalance,
  type RebalanceWatchOptions,
  type RebalanceWatchResult,
} from '../../src/main/rebalanceWatch.js';
import { REBALANCE_RECOMMENDED_TAG } from '../../src/ports/provisioner.js';
import { clusterIamNames, workerPolicy } from '../../src/provisioner/aws/iamPolicies.js';
import { buildUserData } from '../../src/provisioner/aws/userData.js';
import { startTestEndpoint, testEc2Client } from '../fixtures/ec2Local.js';

const { RunInstancesCommand } = ec2Sdk();

/**
 * `toil rebalance-watch` against the local cloud's metadata service and EC2 endpoint, in this
 * process: a worker launched with the cluster's worker profile and real user data, whose unit the
 * local cloud reads to hand the watch its own metadata endpoint. The watch signs with the SDK's
 * default chain (this process's environment names only that endpoint), and the endpoint holds the
 * worker role to its policy (`workerPolicy`).
 */
const CLUSTER = 'rb';
const names = clusterIamNames(CLUSTER);
const PROFILE = `arn:aws:iam::123456789012:instance-profile/${names.workerProfile}`;

// The default chain must find the role's keys and nothing else: no keys, no profile, no ~/.aws.
for (const k of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_PROFILE'])
  delete process.env[k];
const emptyHome = mkdtempSync(join(tmpdir(), 'toil-rebalance-watch-home-'));
process.env.HOME = emptyHome;
t.teardown(() => rmSync(emptyHome, { recursive: true, force: true }));

/** A logger whose lines a test reads back. */
function recordingLogger(): { log: Logger; lines: () => Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n').filter(Boolean))
        lines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  });
  return { log: createLogger({ level: 'info', destination: sink }), lines: () => lines };
}

interface Cloud {
  endpoint: Ec2Endpoint;
  /** The watch units the endpoint read from each running instance's user data. */
  units: NodeCommandSpec[];
}

async function startCloud(t: Test): Promise<Cloud> {
  const units: NodeCommandSpec[] = [];
  const endpoint = await startTestEndpoint({
    nodeCommands: {
      startCommand(spec) {
        units.push(spec);
        return { pid: undefined, stop: async () => {} };
      },
    },
    rolePolicies: (role) =>
      role === names.workerRole ? workerPolicy({ clusterName: CLUSTER, region: 'us-west-2' }) : undefined,
  });
  t.teardown(() => endpoint.stop());
  return { endpoint, units };
}

/** A running worker of `cluster` with the worker profile; resolves with its id and its metadata endpoint. */
async function launchWorker(cloud: Cloud, cluster = CLUSTER): Promise<{ id: string; imds: string }> {
  const ec2 = testEc2Client(cloud.endpoint.url);
  try {
    const out = await ec2.send(
      new RunInstancesCommand({
        ImageId: LOCAL_IMAGE.imageId,
        InstanceType: 't2.medium',
        MinCount: 1,
        MaxCount: 1,
        UserData: buildUserData({
          role: 'worker',
          clusterName: cluster,
          applianceImage: 'img:1',
          zone: 'us-west-2a',
          leaderPrivateIp: '10.0.0.5',
          preemptable: true,
          tags: {},
        }),
        MetadataOptions: { HttpTokens: 'required' },
        // EC2 recommends rebalancing spot instances alone.
        InstanceMarketOptions: { MarketType: 'spot' },
        IamInstanceProfile: { Arn: PROFILE },
        TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'clusterName', Value: cluster }] }],
      }),
    );
    const id = out.Instances![0]!.InstanceId!;
    for (let i = 0; i < 200 && !cloud.units.some((u) => u.instanceId === id); i++)
      await new Promise((r) => setTimeout(r, 20));
    const unit = cloud.units.find((u) => u.instanceId === id);
    if (!unit) throw new Error(`${id}: no watch unit started`);
    return { id, imds: unit.imdsEndpoint };
  } finally {
    ec2.destroy();
  }
}

/**
 * Runs the watch against `imds` (its metadata endpoint) and the cloud's EC2 endpoint, polling
 * every 20 ms, retrying from 10 ms up to 80 ms; stopped by `signal`, else when the test ends.
 */
function watch(
  t: Test,
  cloud: Cloud,
  imds: string,
  log: Logger,
  signal?: AbortSignal,
): Promise<RebalanceWatchResult> {
  // The SDK's default chain reads the metadata endpoint from the process environment, as on a node.
  process.env.AWS_EC2_METADATA_SERVICE_ENDPOINT = imds;
  const options: RebalanceWatchOptions = {
    env: { AWS_EC2_METADATA_SERVICE_ENDPOINT: imds, AWS_ENDPOINT_URL_EC2: cloud.endpoint.url },
    clock: new RealClock(),
    log,
    intervalMs: 20,
    retryMs: 10,
    maxBackoffMs: 80,
    signal: signal ?? stopAtEnd(t),
  };
  return watchRebalance(options);
}

/** A signal that ends the watch when the test does, whatever happened. */
function stopAtEnd(t: Test): AbortSignal {
  const stop = new AbortController();
  t.teardown(() => stop.abort());
  return stop.signal;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

t.test(
  "the local cloud hands the watch unit of a worker's user data its own metadata endpoint",
  async (t) => {
    const cloud = await startCloud(t);
    const { id, imds } = await launchWorker(cloud);
    t.match(cloud.units, [
      { instanceId: id, unit: 'toil-rebalance-watch.service', args: ['rebalance-watch'] },
    ]);
    t.match(imds, /^http:\/\/127\.0\.0\.1:\d+$/);
  },
);

t.test('no recommendation: the watch polls and tags nothing', async (t) => {
  const cloud = await startCloud(t);
  const { id, imds } = await launchWorker(cloud);
  const { log, lines } = recordingLogger();
  const stop = new AbortController();
  const watching = watch(t, cloud, imds, log, stop.signal);
  await sleep(300);
  stop.abort();
  t.same(await watching, { outcome: 'stopped' });
  t.equal(cloud.endpoint.stats.byAction.get('CreateTags') ?? 0, 0, 'no CreateTags');
  t.notOk(cloud.endpoint.cloud.instances.get(id)!.tags.has(REBALANCE_RECOMMENDED_TAG), 'no tag');
  t.same(
    lines().filter((l) => (l.level as number) >= 40),
    [],
    'nothing went wrong',
  );
});

t.test(
  'a recommendation: exactly one CreateTags, of its own instance, with the notice time, signed with its role',
  async (t) => {
    const cloud = await startCloud(t);
    const { id, imds } = await launchWorker(cloud);
    const other = await launchWorker(cloud);
    const { log } = recordingLogger();
    const watching = watch(t, cloud, imds, log);
    await sleep(100);
    const answer = (await (
      await fetch(`${cloud.endpoint.url}/_localcloud/rebalance/${id}`, { method: 'POST' })
    ).json()) as { rebalanceAt: number };
    const noticeTime = new Date(answer.rebalanceAt).toISOString().replace(/\.\d{3}Z$/, 'Z');
    t.same(await watching, { outcome: 'tagged', instanceId: id, noticeTime });
    t.equal(cloud.endpoint.stats.byAction.get('CreateTags'), 1, 'one CreateTags');
    t.equal(cloud.endpoint.cloud.instances.get(id)!.tags.get(REBALANCE_RECOMMENDED_TAG), noticeTime);
    t.notOk(
      cloud.endpoint.cloud.instances.get(other.id)!.tags.has(REBALANCE_RECOMMENDED_TAG),
      'no other instance',
    );
    t.ok(
      (await roleCredentialRequests(cloud, id)) >= 1,
      'the SDK took the role credentials from the instance metadata',
    );
  },
);

t.test(
  'the metadata service down: logged, retried with a growing capped backoff, no crash; then it tags',
  async (t) => {
    const cloud = await startCloud(t);
    const { id, imds } = await launchWorker(cloud);
    const proxy = await flakyProxy(t, imds);
    const { log, lines } = recordingLogger();
    const watching = watch(t, cloud, proxy.url, log);
    proxy.down = true;
    await sleep(500);
    const retries = lines().filter((l) =>
      /reading the instance metadata failed; retrying/.test(String(l.msg)),
    );
    t.ok(retries.length >= 4, `${retries.length} retries logged`);
    t.same(
      retries.slice(0, 4).map((l) => l.retryInMs),
      [10, 20, 40, 80],
      'the backoff doubles from 10 ms, capped at 80 ms',
    );
    t.match(retries[0], { level: 40, code: 'IMDS_UNAVAILABLE' });
    proxy.down = false;
    cloud.endpoint.cloud.recommendRebalance(id);
    t.match(await watching, { outcome: 'tagged', instanceId: id });
  },
);

t.test('CreateTags throttled: retried until it goes through', async (t) => {
  const cloud = await startCloud(t);
  const { id, imds } = await launchWorker(cloud);
  const { log, lines } = recordingLogger();
  cloud.endpoint.faults.throttleRate = 1;
  cloud.endpoint.cloud.recommendRebalance(id);
  const watching = watch(t, cloud, imds, log);
  for (let i = 0; i < 300 && !lines().some((l) => l.code === 'RequestLimitExceeded'); i++) await sleep(20);
  t.match(
    lines().find((l) => l.code === 'RequestLimitExceeded'),
    { level: 40, msg: /tagging the instance toil-rebalance-recommended failed; retrying/ },
  );
  cloud.endpoint.faults.throttleRate = 0;
  t.match(await watching, { outcome: 'tagged', instanceId: id });
  t.ok(cloud.endpoint.cloud.instances.get(id)!.tags.has(REBALANCE_RECOMMENDED_TAG));
});

t.test(
  'a worker role may not tag an instance outside its cluster: refused as IAM would, logged, retried',
  async (t) => {
    const cloud = await startCloud(t);
    const { id, imds } = await launchWorker(cloud, 'another-cluster');
    const { log, lines } = recordingLogger();
    const stop = new AbortController();
    cloud.endpoint.cloud.recommendRebalance(id);
    const watching = watch(t, cloud, imds, log, stop.signal);
    for (let i = 0; i < 300 && lines().filter((l) => l.code === 'UnauthorizedOperation').length < 2; i++)
      await sleep(20);
    stop.abort();
    t.same(await watching, { outcome: 'stopped' });
    t.ok(lines().filter((l) => l.code === 'UnauthorizedOperation').length >= 2, 'refused, and tried again');
    t.notOk(cloud.endpoint.cloud.instances.get(id)!.tags.has(REBALANCE_RECOMMENDED_TAG), 'not tagged');
  },
);

async function roleCredentialRequests(cloud: Cloud, id: string): Promise<number> {
  const s = (await (await fetch(`${cloud.endpoint.url}/_localcloud/state`)).json()) as {
    instances: { instanceId: string; roleCredentialRequests: number }[];
  };
  return s.instances.find((i) => i.instanceId === id)?.roleCredentialRequests ?? -1;
}

/** A loopback front of a metadata endpoint that drops every connection while `down`. */
async function flakyProxy(t: Test, target: string): Promise<{ url: string; down: boolean }> {
  const state = { url: '', down: false };
  const server: Server = createServer((req, res) => {
    if (state.down) {
      req.socket.destroy();
      return;
    }
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers))
      if (typeof v === 'string' && k.startsWith('x-aws-ec2-metadata')) headers[k] = v;
    fetch(`${target}${req.url ?? '/'}`, { method: req.method ?? 'GET', headers })
      .then(async (r) => {
        const body = await r.text();
        const out: Record<string, string> = {};
        r.headers.forEach((v, k) => (out[k] = v));
        res.writeHead(r.status, out).end(body);
      })
      .catch(() => req.socket.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  t.teardown(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return state;
}
