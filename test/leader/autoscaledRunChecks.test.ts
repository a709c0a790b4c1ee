import t from 'tap';
import { checkScalingFlags, type DeclaredJob } from '../../src/leader/autoscaledRunChecks.js';
import { readCatalogue } from '../../src/scaler/catalogueFile.js';
import { parseScalerConfig } from '../../src/scaler/config.js';

/**
 * The seed form's check before anything is launched: a job no allowed node type can ever run is
 * refused with the flag that would fix it — for a job that is not preemptable under spot-only node
 * types, an on-demand type (or --defaultPreemptible), not "a bigger type", which would not help.
 */
const catalogue = await readCatalogue();
const config = (nodeTypes: string) => parseScalerConfig({ region: 'us-west-2', nodeTypes }, catalogue);
const job = (o: Partial<DeclaredJob> = {}): DeclaredJob => ({
  name: 'root',
  cores: 1,
  memoryBytes: 2 ** 30,
  diskBytes: 2 ** 30,
  preemptable: false,
  ...o,
});

const rows: [name: string, nodeTypes: string, job: DeclaredJob, expected: RegExp, not?: RegExp][] = [
  [
    'not preemptable, only spot types: an on-demand type or --defaultPreemptible',
    't2.medium:0.03',
    job(),
    /^job 'root' can never run: preemptable: the job is not preemptable and every configured node type is spot \(largest allowed node type t2\.medium\); add an on-demand type to --nodeTypes \(one without :BID\), or make the job preemptable \(--defaultPreemptible, for a job that does not say\)$/,
    /bigger type/,
  ],
  [
    'a service, only spot types: an on-demand type or preemptable: true in its requirements, not --defaultPreemptible, which does not reach it',
    't2.medium:0.03',
    job({ name: 'db', service: true }),
    /^job 'db' can never run: preemptable: the job is not preemptable and every configured node type is spot \(largest allowed node type t2\.medium\); add an on-demand type to --nodeTypes \(one without :BID\), or declare the service preemptable: true in its requirements \(--defaultPreemptible does not reach a service\)$/,
    /make the job preemptable/,
  ],
  [
    'too big for every type: a bigger type or the requirements',
    't2.medium',
    job({ memoryBytes: 100 * 2 ** 30 }),
    /^job 'root' can never run: memory: asks 100\.0 GiB, .*; change --nodeTypes\/--nodeType to a bigger type, or the job's requirements \(--defaultCores\/--defaultMemory\/--defaultDisk\)$/,
    /on-demand type/,
  ],
  [
    'both: every way out is named',
    't2.medium:0.03',
    job({ memoryBytes: 100 * 2 ** 30 }),
    /add an on-demand type to --nodeTypes .*, make the job preemptable .*, change --nodeTypes\/--nodeType to a bigger type, or the job's requirements/,
  ],
];

for (const [name, nodeTypes, j, expected, not] of rows)
  t.test(name, async (t) => {
    const e = t.throws(() => checkScalingFlags([j], config(nodeTypes))) as Error;
    t.match(e.message, expected);
    if (not) t.notMatch(e.message, not);
  });

t.test('a job that fits is not refused', async (t) => {
  t.doesNotThrow(() => checkScalingFlags([job({ preemptable: true })], config('t2.medium:0.03')));
});
