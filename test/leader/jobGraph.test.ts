import t from 'tap';
import type { JobCommit, JobSpec, Json } from '../../src/jobstore/jobRecords.js';
import { JobGraph, PromiseNotReadyError } from '../../src/leader/jobGraph.js';

function spec(id: string, pre: { children?: string[]; followOns?: string[] } = {}): JobSpec {
  return {
    id,
    name: `job-${id}`,
    input: null,
    requirements: {},
    children: pre.children ?? [],
    followOns: pre.followOns ?? [],
  };
}

function commit(
  jobId: string,
  o: { children?: string[]; followOns?: string[]; newJobs?: JobSpec[]; rv?: Json } = {},
): JobCommit {
  return {
    format: 1,
    jobId,
    attempt: 1,
    returnValue: o.rv ?? null,
    children: o.children ?? [],
    followOns: o.followOns ?? [],
    newJobs: o.newJobs ?? [],
    deletedFiles: [],
    logs: [],
    wallTimeMs: 1,
  };
}

t.test(
  'children become ready when their parent ran; follow-ons only when every child subtree is done',
  (t) => {
    const g = new JobGraph([spec('A')], 'A');
    t.same(g.takeReady(), ['A']);
    g.applyCommit(
      commit('A', { children: ['B', 'C'], followOns: ['D'], newJobs: [spec('B'), spec('C'), spec('D')] }),
    );
    t.same(g.takeReady(), ['B', 'C'], 'children first');
    g.applyCommit(commit('B', { children: ['B1'], followOns: ['B2'], newJobs: [spec('B1'), spec('B2')] }));
    t.same(g.takeReady(), ['B1']);
    g.applyCommit(commit('C'));
    t.same(g.takeReady(), [], 'D waits: B has an unfinished subtree');
    g.applyCommit(commit('B1'));
    t.same(g.takeReady(), ['B2'], "B's follow-on after B's child");
    g.applyCommit(commit('B2'));
    t.same(g.takeReady(), ['D'], "A's follow-on after the whole of B's and C's subtrees");
    t.notOk(g.isDone());
    g.applyCommit(commit('D'));
    t.ok(g.isDone(), 'root done once its follow-on is');
    t.same(g.counts(), { known: 6, ran: 6, failed: 0 });
    t.end();
  },
);

t.test('successors declared on a handle before the job ran are honoured (pre-declared)', (t) => {
  const g = new JobGraph([spec('R', { children: ['X'], followOns: ['Y'] }), spec('X'), spec('Y')], 'R');
  t.same(g.takeReady(), ['R']);
  g.applyCommit(commit('R', { children: ['Z'], newJobs: [spec('Z')] }));
  t.same(g.takeReady(), ['X', 'Z'], 'pre-declared child, then the one added while running');
  g.applyCommit(commit('X'));
  g.applyCommit(commit('Z'));
  t.same(g.takeReady(), ['Y']);
  g.applyCommit(commit('Y'));
  t.ok(g.isDone());
  t.end();
});

t.test('a job with only follow-ons releases them at once; return values are kept for promises', (t) => {
  const g = new JobGraph([spec('A')], 'A');
  g.takeReady();
  t.throws(
    () => g.returnValueOf('A'),
    /job 'job-A' \(A\), which has not run yet/,
    'no value before the job ran',
  );
  t.ok(catchError(() => g.returnValueOf('A')) instanceof PromiseNotReadyError, 'as a PromiseNotReadyError');
  g.applyCommit(commit('A', { followOns: ['F'], newJobs: [spec('F')], rv: { x: 1 } }));
  t.same(g.takeReady(), ['F']);
  t.same(g.returnValueOf('A'), { x: 1 });
  t.end();
});

t.test('replaying a commit twice, or one for a job that is not ready, changes nothing', (t) => {
  const g = new JobGraph([spec('A')], 'A');
  g.takeReady();
  t.same(g.applyCommit(commit('B')), [], 'unknown job ignored');
  const c = commit('A', { children: ['B'], newJobs: [spec('B')] });
  t.equal(g.applyCommit(c).length, 1);
  t.same(g.applyCommit(c), [], 'second apply ignored');
  t.same(g.takeReady(), ['B'], 'B made ready once');
  t.equal(g.counts().ran, 1);
  t.end();
});

t.test('a failed job blocks its ancestors; a later commit for it (after --restart) unblocks them', (t) => {
  const g = new JobGraph([spec('A')], 'A');
  g.takeReady();
  g.applyCommit(commit('A', { children: ['B'], newJobs: [spec('B')] }));
  g.takeReady();
  g.markFailed('B');
  t.same([...g.failed], ['B']);
  t.equal(g.state('B'), 'failed');
  t.notOk(g.isDone());
  g.applyCommit(commit('B'));
  t.same([...g.failed], []);
  t.ok(g.isDone());
  t.end();
});

t.test('a successor that was never declared, or declared twice, is an error', (t) => {
  const g = new JobGraph([spec('A')], 'A');
  g.takeReady();
  t.throws(() => g.applyCommit(commit('A', { children: ['ghost'] })), /never declared/);
  const h = new JobGraph([spec('A')], 'A');
  h.takeReady();
  t.throws(
    () => h.applyCommit(commit('A', { children: ['B', 'B'], newJobs: [spec('B')] })),
    /added to the workflow twice/,
  );
  t.end();
});

function catchError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  return undefined;
}

t.test('jobs() lists every known job after its declarer, with its state and successors', (t) => {
  const g = new JobGraph([spec('A', { followOns: ['F'] }), spec('F')], 'A');
  g.takeReady();
  t.same(
    g.jobs(),
    [{ id: 'A', name: 'job-A', state: 'ready', children: [], followOns: [], services: [] }],
    'root only',
  );
  g.applyCommit(commit('A', { children: ['B', 'C'], newJobs: [spec('B'), spec('C')] }));
  g.takeReady();
  g.applyCommit(commit('B'));
  const jobs = g.jobs();
  t.same(
    jobs.map((j) => [j.id, j.state, j.children, j.followOns]),
    [
      ['A', 'ran', ['B', 'C'], ['F']],
      ['B', 'done', [], []],
      ['C', 'ready', [], []],
      ['F', 'waiting', [], []],
    ],
    'children in declaration order, then the pre-declared follow-on',
  );
  (jobs[0]!.children as string[]).push('X');
  t.same(g.jobs()[0]!.children, ['B', 'C'], 'a copy: changing it leaves the graph alone');
  t.end();
});

t.test(
  "a job with several predecessors (Toil's j3.addChild(j4)) runs once, after all of them, each by its edge's rule",
  (t) => {
    // A adds B and C; D is a child of both (the tutorial's j4); E a follow-on of B and a child of C.
    const g = new JobGraph([spec('A')], 'A');
    g.takeReady();
    g.applyCommit(
      commit('A', {
        children: ['B', 'C'],
        newJobs: [
          spec('B', { children: ['D'], followOns: ['E'] }),
          spec('C', { children: ['D', 'E'] }),
          spec('D'),
          spec('E'),
        ],
      }),
    );
    t.same(g.takeReady(), ['B', 'C']);
    t.same(g.notRunBelow('A'), ['B', 'C', 'D', 'E'], 'notRunBelow: nearest first, a join once');
    g.applyCommit(commit('B'));
    t.same(g.takeReady(), [], 'D waits for C too; E for C and for B’s child D');
    g.markFailed('C');
    t.same(g.notRunBelow('A'), ['D', 'E'], 'neither one that ran nor one that failed');
    g.applyCommit(commit('C'));
    t.same(g.takeReady(), ['D'], 'D once, when its second predecessor ran (its failure fixed)');
    g.applyCommit(commit('D', { rv: 4 }));
    t.same(g.takeReady(), ['E'], "E: C ran, and B's child subtree (D) is done");
    t.notOk(g.isDone());
    g.applyCommit(commit('E'));
    t.ok(g.isDone(), 'the root is done once the shared jobs are, counted under every predecessor');
    t.same(g.counts(), { known: 5, ran: 5, failed: 0 });
    const views = new Map(g.jobs().map((j) => [j.id, j]));
    t.same(views.get('C')!.children, ['D', 'E'], 'the extra edges are in the report');
    t.end();
  },
);

t.test(
  'a join whose predecessor failed waits; the fixed predecessor releases it once, as a replay does',
  (t) => {
    const specs = [
      spec('A', { children: ['L', 'R'] }),
      spec('L', { children: ['J'] }),
      spec('R', { children: ['J'] }),
      spec('J'),
    ];
    const g = new JobGraph(specs, 'A');
    t.same(g.takeReady(), ['A']);
    g.applyCommit(commit('A'));
    t.same(g.takeReady(), ['L', 'R']);
    g.applyCommit(commit('L'));
    g.markFailed('R');
    t.same(g.takeReady(), [], 'the join waits for the failed predecessor');
    g.applyCommit(commit('R'));
    t.same(g.takeReady(), ['J'], 'released once the predecessor is fixed');
    g.applyCommit(commit('R'));
    t.same(g.takeReady(), [], 'a replayed commit does not release it again');
    // A leader rebuilding from the store: every commit but the join's, fed back as jobs become ready.
    const h = new JobGraph(specs, 'A');
    const commits = new Map([
      ['A', commit('A')],
      ['L', commit('L')],
      ['R', commit('R')],
    ]);
    const issued: string[] = [];
    for (let ready = h.takeReady(); ready.length > 0; ready = h.takeReady())
      for (const id of ready) {
        const c = commits.get(id);
        if (c) h.applyCommit(c);
        else issued.push(id);
      }
    t.same(issued, ['J'], 'after the rebuild the join is issued once');
    t.end();
  },
);

t.test('an edge to a job another commit declared is a damaged record', (t) => {
  const g = new JobGraph([spec('A')], 'A');
  g.takeReady();
  g.applyCommit(commit('A', { children: ['B', 'C'], newJobs: [spec('B'), spec('C')] }));
  g.takeReady();
  t.throws(
    () => g.applyCommit(commit('B', { children: ['C'] })),
    /job C \(job-C\) was added to the workflow twice/,
  );
  t.end();
});

t.test(
  "a checkpoint's restart forgets every job its run declared, below them too, and makes it ready again",
  (t) => {
    const ck: JobSpec = { ...spec('C'), checkpoint: true };
    const g = new JobGraph([spec('R', { children: ['C'] }), ck], 'R');
    g.takeReady();
    g.applyCommit(commit('R'));
    t.same(g.takeReady(), ['C']);
    g.applyCommit(commit('C', { children: ['X', 'Y'], newJobs: [spec('X'), spec('Y')] }));
    t.same(g.takeReady(), ['X', 'Y']);
    g.applyCommit(commit('X', { children: ['Z'], newJobs: [spec('Z')] }));
    t.same(g.takeReady(), ['Z']);
    t.equal(g.checkpointAbove('Z'), 'C', 'the checkpoint above a job two levels down');
    t.equal(g.checkpointAbove('C'), undefined);
    t.ok(g.isBelow('Z', 'C'));
    g.markFailed('Y');
    t.same(g.counts(), { known: 5, ran: 3, failed: 1 });
    t.same(g.restartCheckpoint('C').sort(), ['X', 'Y', 'Z']);
    t.same(g.takeReady(), ['C'], 'the checkpoint is ready again');
    t.same(g.counts(), { known: 2, ran: 1, failed: 0 }, 'the forgotten jobs and their failure are gone');
    t.throws(() => g.restartCheckpoint('C'), /not a checkpoint job that ran/);
    g.applyCommit(commit('C', { children: ['W'], newJobs: [spec('W')], rv: 'second' }));
    t.same(g.takeReady(), ['W']);
    g.applyCommit(commit('W'));
    t.ok(g.isDone());
    t.equal(g.returnValueOf('C'), 'second');
    t.end();
  },
);

t.test(
  "services: ready when their host ran; the host's successors wait until all started; they are asked to stop once the successors are done; the host is done when they end",
  (t) => {
    const svc = (id: string): JobSpec => ({ ...spec(id), service: true });
    const g = new JobGraph([spec('H')], 'H');
    g.takeReady();
    g.applyCommit({
      ...commit('H', {
        children: ['K'],
        followOns: ['F'],
        newJobs: [svc('S1'), svc('S2'), spec('K'), spec('F')],
      }),
      services: ['S1', 'S2'],
    });
    t.same(g.takeReady(), ['S1', 'S2'], 'the services first');
    t.same(g.servicesOf('H'), ['S1', 'S2']);
    t.equal(g.hostOf('S1'), 'H');
    g.serviceStarted('S1', 'one');
    t.same(g.takeReady(), [], 'a child waits for every service');
    t.equal(g.returnValueOf('S1'), 'one', "a started service's value is there for promises");
    g.serviceStarted('S2', 'two');
    t.same(g.takeReady(), ['K']);
    t.ok(g.isDescendant('K', 'H'));
    t.ok(g.isDescendant('S2', 'H'));
    g.applyCommit(commit('K'));
    t.same(g.takeReady(), ['F']);
    t.same(g.takeServicesToStop(), [], 'not while a follow-on has to run');
    g.applyCommit(commit('F'));
    t.same(g.takeServicesToStop(), ['S1', 'S2']);
    t.notOk(g.isDone(), 'the host waits for its services to end');
    g.applyCommit({ ...commit('S1'), returnValue: 'one' });
    t.notOk(g.isDone());
    g.applyCommit({ ...commit('S2'), returnValue: 'two' });
    t.ok(g.isDone());
    t.same(g.counts(), { known: 5, ran: 5, failed: 0 });
    t.end();
  },
);

t.test("a sub-service (Toil's Service.addChild) is ready once its parent service started", (t) => {
  const g = new JobGraph([spec('H')], 'H');
  g.takeReady();
  const sub: JobSpec = { ...spec('S2'), service: true, afterService: 'S1' };
  g.applyCommit({
    ...commit('H', { children: ['K'], newJobs: [{ ...spec('S1'), service: true }, sub, spec('K')] }),
    services: ['S1', 'S2'],
  });
  t.same(g.takeReady(), ['S1'], 'the parent service alone');
  g.serviceStarted('S1', 'master');
  t.same(g.takeReady(), ['S2'], 'then its sub-service');
  g.serviceStarted('S2', 'worker');
  t.same(g.takeReady(), ['K'], "then the host's child");
  t.same(
    g.jobs().map((j) => `${j.id}: ${j.services.join(' ')}`),
    ['H: S1', 'K: ', 'S1: S2', 'S2: '],
    'for reports (--printDot), the host starts the service and the service its sub-service',
  );
  t.same(g.notRunBelow('H'), ['K'], 'below the host, the child not run yet; services are not below');
  t.same(g.notRunBelow('K'), [], 'nothing below a job not run that declared no successors');
  t.end();
});
