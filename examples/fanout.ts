/**
 * A fan-out of trivial jobs: the root adds --jobs children (default 1000) that each return their
 * index, and a follow-on checks that every child ran once. Measures the engine's per-job cost:
 *
 *   npx toil run examples/fanout.ts file:./js-fanout --jobs 10000
 */
import { parseArgs } from 'node:util';
import { defineJob, defineWorkflow, type JobDefinition } from 'toil-ts';

const SMALL = { cores: 0.5, memory: '128Mi', disk: '1Mi' } as const;

const leaf: JobDefinition<number, number> = defineJob<number, number>('leaf', SMALL, (_job, i) => i);

const check: JobDefinition<{ n: number; values: number[] }, number> = defineJob<
  { n: number; values: number[] },
  number
>('check', SMALL, (job, { n, values }) => {
  const seen = new Set(values);
  if (values.length !== n || seen.size !== n)
    throw new Error(`expected ${n} distinct results, got ${values.length} (${seen.size} distinct)`);
  job.log.info(`all ${n} children ran`);
  return n;
});

const root: JobDefinition<{ n: number }, number> = defineJob<{ n: number }, number>(
  'fanout',
  SMALL,
  (job, { n }) => {
    const values = [];
    for (let i = 0; i < n; i++) values.push(job.addChild(leaf, i).rv());
    return job.addFollowOn(check, { n, values }).rv();
  },
);

export default defineWorkflow<number>({
  start(ctx) {
    const { values } = parseArgs({
      args: [...ctx.args],
      options: { jobs: { type: 'string', default: '1000' } },
    });
    return ctx.root(root, { n: Number(values.jobs) });
  },
  finish(ctx, n) {
    ctx.log.info(`fan-out of ${n} jobs done`);
  },
});
