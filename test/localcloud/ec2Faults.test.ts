import t from 'tap';
import { ManualClock, RealClock } from '../../src/common/clock.js';
import { silentLogger } from '../../src/common/log.js';
import { LOCAL_IMAGE } from '../../src/localcloud/ec2/catalogue.js';
import type { Ec2Endpoint } from '../../src/localcloud/ec2/index.js';
import { startEc2Endpoint } from '../../src/localcloud/ec2/index.js';
import { AwsProvisioner } from '../../src/provisioner/aws/awsProvisioner.js';
import type { Ec2Calls } from '../../src/provisioner/aws/ec2Calls.js';
import { ProvisionerError } from '../../src/provisioner/errors.js';
import type { Clock } from '../../src/common/clock.js';
import { createClusterGroup, startTestEndpoint, testCalls, testEc2Client } from '../fixtures/ec2Local.js';

async function cluster(
  endpoint: Ec2Endpoint,
  name: string,
  clock: Clock = new RealClock(),
  sdkAttempts = 4,
): Promise<{ p: AwsProvisioner; calls: Ec2Calls }> {
  const calls = testCalls(testEc2Client(endpoint.url, 'us-west-2', sdkAttempts), { clock });
  await createClusterGroup(calls, name, 'us-west-2a');
  const p = new AwsProvisioner({
    calls,
    clock,
    log: silentLogger(),
    settings: {
      clusterName: name,
      zone: 'us-west-2a',
      imageId: LOCAL_IMAGE.imageId,
      applianceImage: 'img:1',
      owner: 'me',
      extraTags: {},
      nodeStorageGiB: 10,
      leaderStorageGiB: 10,
    },
  });
  await p.launch({
    offering: { instanceType: 't2.micro', zone: 'us-west-2a', market: 'on-demand' },
    count: 1,
    clientToken: `${name}-leader`,
    role: 'leader',
  });
  return { p, calls };
}

async function failure(promise: Promise<unknown>): Promise<ProvisionerError> {
  const e = await promise.then(
    () => undefined,
    (err: unknown) => err,
  );
  if (!(e instanceof ProvisionerError)) throw new Error(`expected a ProvisionerError, got ${String(e)}`);
  return e;
}

t.test(
  'with 30% throttling and 10% 5xx (half lost after taking effect) every call completes and no instance is duplicated',
  async (t) => {
    const endpoint = await startTestEndpoint({ bootDelayMs: 0 });
    t.teardown(() => endpoint.stop());
    // Two SDK attempts per call, so the adapter's own retries are exercised too.
    const { p, calls } = await cluster(endpoint, 'faulty', new RealClock(), 2);
    endpoint.faults.throttleRate = 0.3;
    endpoint.faults.serverErrorRate = 0.1;
    endpoint.faults.reseed(7);
    const launches = 60;
    const started = Date.now();
    const results = await Promise.all(
      Array.from({ length: launches }, (_, i) =>
        p.launch({
          offering: { instanceType: 't2.micro', zone: 'us-west-2a', market: i % 2 ? 'spot' : 'on-demand' },
          count: 2,
          clientToken: `faulty-${i}`,
        }),
      ),
    );
    const listed = await p.listNodes({ role: 'worker' });
    await p.terminate(listed.map((n) => n.instanceId));
    const elapsed = Date.now() - started;
    endpoint.faults.throttleRate = 0;
    endpoint.faults.serverErrorRate = 0;

    t.equal(results.length, launches, 'every launch resolved');
    const launchedIds = results.flatMap((r) => r.nodes.map((n) => n.instanceId));
    t.equal(launchedIds.length, launches * 2, 'each launch got its two instances');
    const workers = [...endpoint.cloud.instances.values()].filter(
      (i) => i.tags.get('ToilNodeType') === 'worker',
    );
    t.equal(workers.length, launches * 2, 'the cloud holds exactly 2 instances per launch: no duplicates');
    const perToken = new Map<string, Set<string>>();
    for (const i of workers)
      perToken.set(i.clientToken!, (perToken.get(i.clientToken!) ?? new Set()).add(i.reservationId));
    t.equal(perToken.size, launches);
    t.ok(
      [...perToken.values()].every((r) => r.size === 1),
      'one reservation per client token',
    );
    t.same(
      listed.map((n) => n.instanceId).sort(),
      [...launchedIds].sort(),
      'listNodes saw every instance despite faults',
    );
    t.ok(
      workers.every((i) => i.state === 'shutting-down' || i.state === 'terminated'),
      'terminate completed for all',
    );
    const c = endpoint.faults.counts;
    t.ok(c.throttled > 10, `throttled ${c.throttled} times`);
    t.ok(c.serverErrors > 3, `${c.serverErrors} server errors`);
    t.ok(c.lostResponses > 0, `${c.lostResponses} changes took effect with their answer lost`);
    t.comment(
      `faults: ${endpoint.stats.requests} requests, ${c.throttled} throttled, ${c.serverErrors} 5xx (${c.lostResponses} after taking effect); ` +
        `adapter retries ${calls.stats.retries}, SDK attempts ${calls.stats.sdkAttempts} for ${calls.stats.calls} adapter calls; ${elapsed} ms`,
    );
  },
);

t.test(
  'capacity refusals are per (type, zone, market) and surface as NO_CAPACITY (unavailable)',
  async (t) => {
    const endpoint = await startTestEndpoint({ bootDelayMs: 0 });
    t.teardown(() => endpoint.stop());
    const { p } = await cluster(endpoint, 'ice');
    endpoint.faults.refuseCapacity({ instanceType: 'c5.large', zone: 'us-west-2a', market: 'spot' });
    const e = await failure(
      p.launch({
        offering: { instanceType: 'c5.large', zone: 'us-west-2a', market: 'spot' },
        count: 1,
        clientToken: 'ice-1',
      }),
    );
    t.equal(e.code, 'NO_CAPACITY');
    t.equal(e.disposition, 'unavailable');
    t.equal(e.cloudCode, 'InsufficientInstanceCapacity');
    t.equal(
      (
        await p.launch({
          offering: { instanceType: 'c5.large', zone: 'us-west-2a', market: 'on-demand' },
          count: 1,
          clientToken: 'ice-2',
        })
      ).nodes.length,
      1,
      'on-demand of the same type still launches',
    );
    t.equal(
      (
        await p.launch({
          offering: { instanceType: 'c5.large', zone: 'us-west-2b', market: 'spot' },
          count: 1,
          clientToken: 'ice-3',
        })
      ).nodes.length,
      1,
      'spot in another zone still launches',
    );
    endpoint.faults.limitCapacity({ instanceType: 'm5.large', remaining: 2 });
    const partial = await p.launch({
      offering: { instanceType: 'm5.large', zone: 'us-west-2c', market: 'on-demand' },
      count: 5,
      clientToken: 'ice-4',
    });
    t.same([partial.requested, partial.nodes.length], [5, 2], 'a partial launch gives what there is');
    t.equal(
      (
        await failure(
          p.launch({
            offering: { instanceType: 'm5.large', zone: 'us-west-2c', market: 'on-demand' },
            count: 1,
            clientToken: 'ice-5',
          }),
        )
      ).code,
      'NO_CAPACITY',
    );
    // EC2 sends InsufficientInstanceCapacity with HTTP 500, which the SDK retries (4 attempts in
    // these tests); the adapter itself never retries it.
    t.equal(endpoint.faults.counts.capacityRefusals, 8);
  },
);

t.test('account limits are LIMIT_EXCEEDED (fatal) and a low spot bid is SPOT_PRICE_TOO_LOW', async (t) => {
  const endpoint = await startTestEndpoint({
    bootDelayMs: 0,
    faults: { onDemandVcpuLimit: 5, spotInstanceLimit: 1 },
  });
  t.teardown(() => endpoint.stop());
  const { p } = await cluster(endpoint, 'limits');
  const two = await p.launch({
    offering: { instanceType: 'm5.large', zone: 'us-west-2a', market: 'on-demand' },
    count: 3,
    clientToken: 'lim-1',
  });
  t.equal(two.nodes.length, 2, '1 + 2×2 vCPUs fit under 5; the third does not');
  const vcpu = await failure(
    p.launch({
      offering: { instanceType: 'm5.large', zone: 'us-west-2a', market: 'on-demand' },
      count: 1,
      clientToken: 'lim-2',
    }),
  );
  t.same([vcpu.code, vcpu.disposition, vcpu.cloudCode], ['LIMIT_EXCEEDED', 'fatal', 'VcpuLimitExceeded']);
  await p.launch({
    offering: { instanceType: 't2.micro', zone: 'us-west-2a', market: 'spot' },
    count: 1,
    clientToken: 'lim-3',
  });
  const spot = await failure(
    p.launch({
      offering: { instanceType: 't2.micro', zone: 'us-west-2a', market: 'spot' },
      count: 1,
      clientToken: 'lim-4',
    }),
  );
  t.same([spot.code, spot.cloudCode], ['LIMIT_EXCEEDED', 'MaxSpotInstanceCountExceeded']);
  const bid = await failure(
    p.launch({
      offering: { instanceType: 'r5.large', zone: 'us-west-2a', market: 'spot', maxPrice: 0.001 },
      count: 1,
      clientToken: 'lim-5',
    }),
  );
  t.same([bid.code, bid.disposition], ['SPOT_PRICE_TOO_LOW', 'unavailable']);
});

t.test(
  'a seeded spot interruption rate reclaims running spot instances after a notice, and leaves on-demand alone',
  async (t) => {
    const clock = new ManualClock();
    const endpoint = await startEc2Endpoint({
      clock,
      log: silentLogger(),
      bootDelayMs: 10_000,
      tickMs: 1000,
      faults: { spotInterruptionRate: 1, spotInterruptionWindowMs: 60_000, seed: 3 },
    });
    t.teardown(() => endpoint.stop());
    const { p } = await cluster(endpoint, 'reclaim', clock);
    await p.launch({
      offering: { instanceType: 't2.micro', zone: 'us-west-2a', market: 'spot' },
      count: 3,
      clientToken: 'sp',
    });
    await p.launch({
      offering: { instanceType: 't2.micro', zone: 'us-west-2a', market: 'on-demand' },
      count: 1,
      clientToken: 'od',
    });
    await clock.advance(10_000);
    t.equal((await p.listNodes({ role: 'worker' })).length, 4, 'all running after boot');
    const spot = [...endpoint.cloud.instances.values()].filter((i) => i.market === 'spot');
    t.ok(
      spot.every((i) => i.interruption !== undefined),
      'each spot instance drew an interruption',
    );
    t.ok(
      spot.every((i) => i.interruption!.terminateAt - i.interruption!.noticeAt === 120_000),
      'each with two minutes of notice',
    );
    await clock.advance(60_000 + 120_000 + 2_000);
    const left = await p.listNodes({ role: 'worker' });
    t.same(
      left.map((n) => n.market),
      ['on-demand'],
      'only the on-demand worker remains',
    );
    const reclaimed = await p.listNodes({ role: 'worker', includeTerminated: true });
    t.equal(reclaimed.filter((n) => n.market === 'spot' && n.state !== 'running').length, 3);
  },
);
