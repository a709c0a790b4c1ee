import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { endpointWithKeyPair } from '../fixtures/ec2Local.js';
import { runToil as runClusterCli } from '../fixtures/ec2ToilCli.js';
import { testDir } from '../fixtures/testDir.js';
import { REPO_ROOT, runToil } from '../fixtures/workflowCli.js';

/**
 * A workflow's --nodeTypes, --maxNodes, --minNodes and --nodeStorageOverrides extend their list when
 * given again (Toil's argparse `extend`); a second flag used to replace the first, and a kind of
 * node was dropped without a word. launch-cluster's --nodeTypes and -w are argparse's plain store
 * in Toil: the last one counts.
 */
t.setTimeout(120_000);

const WORKFLOW = join(REPO_ROOT, 'test/fixtures/workflowTree.ts');

t.test(
  'toil run: a repeated --nodeTypes, --maxNodes, --minNodes or --nodeStorageOverrides adds to the list',
  async (t) => {
    const dir = testDir(t);
    // Refused while the flags are read, before any job store, cloud or Mesos master is touched: what
    // each message names shows which entries the run kept.
    const run = (...flags: string[]) =>
      runToil(
        [
          ...['run', WORKFLOW, `file:${join(dir, 'js')}`, '--provisioner', 'aws', '--zone', 'us-west-2a'],
          ...['--clusterName', 'c', '--batchSystem', 'mesos', '--mesosMaster', '127.0.0.1:1', ...flags],
        ],
        { cwd: dir, env: { HOME: dir } },
      );

    const types = await run('--nodeTypes', 'c5.large', '--nodeTypes', 'm5.large', '--maxNodes', '1,2,3');
    t.equal(types.code, 2);
    t.equal(
      types.stderr.trim(),
      'toil: --maxNodes 1,2,3: 3 values for 2 node types',
      'two --nodeTypes: two types',
    );

    const typo = await run('--nodeTypes', 'c5.lrge', '--nodeTypes', 'm5.large');
    t.equal(typo.code, 2);
    t.match(
      typo.stderr,
      /--nodeTypes c5\.lrge: unknown instance type "c5\.lrge"/,
      'the first --nodeTypes is read',
    );

    const counts = await run(
      '--nodeTypes',
      'c5.large,m5.large',
      '--minNodes',
      '0',
      '--minNodes',
      '3',
      '--maxNodes',
      '2',
    );
    t.equal(counts.code, 2);
    t.equal(
      counts.stderr.trim(),
      'toil: --minNodes 0,3: minNodes 3 is more than maxNodes 2 for node type m5.large',
      'the second --minNodes counts for the second type',
    );

    const storage = await run(
      ...['--nodeTypes', 'c5.large,m5.large', '--maxNodes', '1'],
      ...['--nodeStorageOverrides', 'c5.large:80', '--nodeStorageOverrides', 'm5.large:x'],
    );
    t.equal(storage.code, 2);
    t.match(storage.stderr, /--nodeStorageOverrides c5\.large:80,m5\.large:x: expected TYPE:GiB/);

    // Toil's config file holds these four as YAML lists.
    writeFileSync(join(dir, 'c.yaml'), 'nodeTypes: [c5.large, m5.large]\nmaxNodes: [1, 2, 3]\n');
    const file = await run('--config', join(dir, 'c.yaml'));
    t.equal(file.code, 2);
    t.equal(
      file.stderr.trim(),
      `toil: --maxNodes 1,2,3: 3 values for 2 node types (set in ${join(dir, 'c.yaml')}: maxNodes)`,
      'lists in a --config file are read as the repeated flags are',
    );
  },
);

t.test(
  "launch-cluster keeps the last --nodeTypes and the last -w given, as Toil's argparse does, and says when one replaced another",
  async (t) => {
    const { endpoint, env } = await endpointWithKeyPair(t);
    const launch = (name: string, ...types: string[]) =>
      runClusterCli(
        [
          ...['launch-cluster', name, '--leaderNodeType', 't2.medium', ...types],
          ...['--zone', 'us-west-2a', '--keyPairName', 'k'],
        ],
        env,
      );
    const workersOf = (name: string) =>
      [...endpoint.cloud.instances.values()]
        .filter((i) => i.tags.get('clusterName') === name && i.tags.get('ToilNodeType') === 'worker')
        .filter((i) => i.state === 'running' || i.state === 'pending')
        .map((i) => `${i.type.name} ${i.market}`)
        .sort();

    // The count given twice is one count, not two (nor their sum).
    const twice = await launch('twice', '--nodeTypes', 't2.medium', '-w', '1', '--workers', '1');
    t.equal(twice.code, 0, twice.stderr);
    t.same(workersOf('twice'), ['t2.medium on-demand'], '-w 1 --workers 1: one worker');
    t.equal(twice.stderr, '', 'the same value again replaces nothing: nothing to say');

    const counts = await launch('counts', '--nodeTypes', 't2.medium', '-w', '3', '-w', '2');
    t.equal(counts.code, 0, counts.stderr);
    t.same(workersOf('counts'), ['t2.medium on-demand', 't2.medium on-demand'], '-w 3 -w 2: two workers');
    t.equal(
      counts.stderr,
      'toil: -w/--workers given 2 times: the last one (2) is used, as in Toil; give every entry in one -w/--workers (e.g. --nodeTypes t2.medium,t2.large:0.20 -w 1,1)\n',
    );

    // Toil's docs write a cluster of two kinds so; Toil's launch-cluster launches only the last.
    const docs = await launch(
      'docs',
      ...['--nodeTypes', 't2.medium', '-w', '1', '--nodeTypes', 't2.large:0.20', '-w', '2'],
    );
    t.equal(docs.code, 0, docs.stderr);
    t.same(workersOf('docs'), ['t2.large spot', 't2.large spot'], 'the last pair: two spot t2.large');
    t.match(
      docs.stderr,
      /^toil: --nodeTypes given 2 times: the last one \(t2\.large:0\.20\) is used, as in Toil;/m,
    );

    const both = await launch('both', '--nodeTypes', 't2.medium,t2.large:0.20', '-w', '1,2');
    t.equal(both.code, 0, both.stderr);
    t.same(
      workersOf('both'),
      ['t2.large spot', 't2.large spot', 't2.medium on-demand'],
      'two kinds in one --nodeTypes: one on-demand t2.medium and two spot t2.large',
    );
  },
);
