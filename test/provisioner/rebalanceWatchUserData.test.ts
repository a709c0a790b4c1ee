import t from 'tap';
import { parseNodeToilCommands, splitCommandLine } from '../../src/localcloud/ec2/nodeUserData.js';
import {
  buildIgnition,
  buildUserData,
  REBALANCE_WATCH_UNIT,
  type ClusterType,
  type UserDataInput,
} from '../../src/provisioner/aws/userData.js';

/**
 * Every worker, of either engine, runs `toil rebalance-watch` in the appliance as a unit of its
 * own, needing nothing of the host but its network (the metadata service): no privilege, no
 * volume, no environment. The leader runs none (EC2 recommends rebalancing spot workers).
 */
const input = (role: 'leader' | 'worker', clusterType: ClusterType): UserDataInput => ({
  role,
  clusterName: 'lab',
  applianceImage: 'quay.io/ucsc_cgl/toil:9.1.0',
  zone: 'us-west-2a',
  preemptable: true,
  tags: { clusterName: 'lab', Owner: 'me' },
  clusterType,
  ...(role === 'worker' ? { leaderPrivateIp: '10.0.3.7' } : {}),
});

for (const engine of ['mesos', 'slurm'] as const) {
  t.test(`${engine}: a worker's own unit runs the watch, lean; the leader runs none`, async (t) => {
    const ign = buildIgnition(input('worker', engine));
    t.same(
      ign.systemd.units.map((u) => [u.name, u.enabled]),
      [
        ['toil-worker.service', true],
        [REBALANCE_WATCH_UNIT, true],
      ],
      "beside the engine's unit",
    );
    const contents = ign.systemd.units.find((u) => u.name === REBALANCE_WATCH_UNIT)!.contents;
    const lines = contents.split('\n');
    for (const line of ['After=docker.service', 'Requires=docker.service', 'Restart=on-failure'])
      t.ok(lines.includes(line), line);
    t.ok(
      lines.includes('ExecStartPre=-/usr/bin/docker rm -f toil_rebalance_watch'),
      'a stale container goes first',
    );
    const exec = splitCommandLine(lines.find((l) => l.startsWith('ExecStart='))!.slice('ExecStart='.length));
    t.same(exec, [
      '/usr/bin/docker',
      'run',
      '--name=toil_rebalance_watch',
      '--net=host',
      '--init',
      'quay.io/ucsc_cgl/toil:9.1.0',
      'toil',
      'rebalance-watch',
    ]);
    t.same(parseNodeToilCommands(buildUserData(input('worker', engine))), [
      { unit: REBALANCE_WATCH_UNIT, args: ['rebalance-watch'] },
    ]);
    const leader = buildIgnition(input('leader', engine));
    t.notOk(
      leader.systemd.units.some(
        (u) => u.name === REBALANCE_WATCH_UNIT || u.contents.includes('rebalance-watch'),
      ),
      'no watch on the leader',
    );
    t.same(parseNodeToilCommands(buildUserData(input('leader', engine))), []);
  });
}

t.test('the local cloud runs only the toil commands it knows, from any unit', async (t) => {
  const userData = (units: { name: string; contents: string }[]): string =>
    Buffer.from(JSON.stringify({ systemd: { units } })).toString('base64');
  t.same(
    parseNodeToilCommands(
      userData([
        {
          name: 'a.service',
          contents: 'ExecStart=/usr/bin/docker run img toil rebalance-watch --interval=2s',
        },
        { name: 'b.service', contents: 'ExecStart=/usr/bin/docker run img toil leader --config=x' },
        { name: 'c.service', contents: 'ExecStart=/usr/bin/docker run img rebalance-watch' },
      ]),
    ),
    [{ unit: 'a.service', args: ['rebalance-watch', '--interval=2s'] }],
  );
  t.same(parseNodeToilCommands('not base64 json'), []);
  t.same(parseNodeToilCommands(undefined), []);
});
