import t from 'tap';
import type { Requirements } from '../../src/workflow/index.js';
import {
  resolvePromises,
  promisedJobs,
  PROMISE_MARKER,
  resolveRequirements,
  resolvePromisedRequirements,
  ENCAPSULATION_JOB,
  type Json,
} from '../../src/jobstore/jobRecords.js';
import {
  defineJob,
  defineService,
  defineWorkflow,
  isJobDefinition,
  isPromised,
  isServiceDefinition,
  isWorkflowDefinition,
  tryParseBytes,
} from '../../src/workflow/index.js';
import {
  ADDING_JOB,
  JobCollector,
  JobDeclarationError,
  MAX_VALUE_BYTES,
  encodeValue,
  makePromise,
  parseRequirements,
} from '../../src/workflow/jobBuilder.js';

t.test('requirements: sizes in units as Toil reads them, preemptible accepted, bad values named', (t) => {
  t.same(
    parseRequirements({ cores: 2, memory: '600M', disk: '2Gi', preemptible: true, walltime: '5m' }, 'j'),
    {
      cores: 2,
      memory: 600_000_000,
      disk: 2 * 2 ** 30,
      preemptable: true,
      walltimeMs: 300_000,
    },
  );
  t.same(parseRequirements({}, 'j'), {});
  t.throws(
    () => parseRequirements({ memory: 'lots' }, 'big'),
    /^job 'big': memory must be a size like "600M" or "2Gi" \(suffixes B, K\/KB, .*Ei\/EiB \(powers of 1024\), any case; a bare number is bytes\), got "lots"$/,
  );
  t.throws(() => parseRequirements({ cores: 0 }, 'z'), /job 'z': cores must be a positive number/);
  t.throws(() => parseRequirements({ walltime: 'soon' }, 'w'), /walltime must be a duration/);
  // What JavaScript lets through the types is refused by name, not ignored or misread.
  const loose = (r: Record<string, unknown>): Requirements => r;
  t.throws(
    () => parseRequirements(loose({ mem: '8G' }), 'm'),
    /^job 'm': unknown requirement 'mem' \(expected cores, memory, disk, preemptable, walltime or checkpoint; did you mean memory\?\)$/,
  );
  t.throws(
    () => parseRequirements(loose({ coers: 2 }), 'c'),
    /unknown requirement 'coers' .*did you mean cores\?/,
  );
  t.throws(
    () => parseRequirements(loose({ accelerators: [{ count: 1, kind: 'gpu' }] }), 'g'),
    /unknown requirement 'accelerators' .*toil-ts schedules no accelerators \(GPUs\)/,
  );
  t.throws(
    () => parseRequirements(loose({ preemptable: 'no' }), 'p'),
    /preemptable must be true or false, got "no"/,
  );
  t.same(
    parseRequirements(loose({ preemptable: 'false' }), 'p'),
    { preemptable: false },
    "Toil's string form",
  );
  t.same(parseRequirements(loose({ preemptible: 'True' }), 'p'), { preemptable: true });
  t.same(parseRequirements(loose({ preemptable: 0 }), 'p'), { preemptable: false });
  t.same(parseRequirements(loose({ cores: '2' }), 'c'), { cores: 2 }, 'cores as a string, as Toil takes it');
  t.same(parseRequirements(loose({ cores: ' 0.5 ' }), 'c'), { cores: 0.5 });
  for (const cores of ['1G', 'two', '0', '-1', '', 'Infinity'])
    t.throws(
      () => parseRequirements(loose({ cores }), 'c'),
      new RegExp(
        `^job 'c': cores must be a positive number \\(or one as a string, e\\.g\\. "2"\\), got ${JSON.stringify(cores)}$`,
      ),
      `cores ${JSON.stringify(cores)} refused`,
    );
  t.throws(
    () => parseRequirements({ memory: Infinity }, 'inf'),
    /^job 'inf': memory must be a size like .*, got a number out of range \(beyond ±1\.8e308, the largest a number holds\)$/,
    'Infinity is said as such, not as the null JSON writes for it',
  );
  t.throws(
    () => parseRequirements(loose({ disk: (x: number) => 2 * x }), 'd'),
    /^job 'd': disk is a function; a requirement computed from another job's value \(Toil's PromisedRequirement over a function\) is given as the rv\(\) of a job that returns the computed value, e\.g\. disk: sizeJob\.rv\(\)$/,
    "Toil's PromisedRequirement(fn, promise) ported as a function is named, not read as undefined",
  );
  t.same(
    parseRequirements({ cores: 1, memory: undefined }, 'u'),
    { cores: 1 },
    'an unset one is not a mistake',
  );
  t.same(resolveRequirements({ memory: 5 }, { cores: 1, memory: 9, disk: 9, preemptable: false }), {
    cores: 1,
    memory: 5,
    disk: 9,
    preemptable: false,
  });
  t.end();
});

t.test('values are stored as JSON with promises as markers; what JSON cannot carry is refused', (t) => {
  const p = makePromise<number>('job-1', ['a', 0]);
  t.ok(isPromised(p));
  t.same(encodeValue({ x: p, y: [1, undefined] }, 'input'), {
    x: { [PROMISE_MARKER]: { job: 'job-1', path: ['a', 0] } },
    y: [1, null],
  });
  t.equal(encodeValue(undefined, 'rv'), null);
  t.throws(
    () => encodeValue({ f: () => 1 }, "input of job 'k'"),
    /input of job 'k' holds a function \(at \.f\)/,
  );
  t.type(
    catchIt(() => encodeValue(Symbol('s'), 'v')),
    JobDeclarationError,
  );
  t.throws(
    () => encodeValue({ n: 10n }, "input of job 'k'"),
    /^input of job 'k' holds the BigInt 10n \(at \.n\), which cannot be stored: JSON has no BigInt \(store it as a string, String\(n\), and read it back with BigInt\(s\)\)$/,
  );
  t.throws(() => encodeValue(7n ** 99n, 'v'), /^v holds the BigInt 46206807280353685590… \(84 digits\)n,/);
  t.end();
});

t.test('what JSON would silently turn into something else is refused, naming it', (t) => {
  const refused: [unknown, RegExp][] = [
    [new Map([['a', 1]]), /^return value of job 'j' holds a Map, which JSON stores as \{\}/],
    [{ deep: [new Set([1])] }, /holds a Set \(at \.deep\[0\]\), which JSON stores as \{\} \(use an array\)/],
    [Buffer.from('hi'), /holds a Buffer, which JSON stores as an object of numbers .*writeGlobalFileBytes/],
    [{ b: new Uint8Array([1, 2]) }, /holds a Uint8Array \(at \.b\), /],
    [[1, Number.NaN], /holds NaN \(at \[1\]\), which JSON stores as null/],
    [{ x: Number.POSITIVE_INFINITY }, /holds Infinity \(at \.x\), /],
    [
      new Error('no such sample'),
      /^return value of job 'j' holds an Error \('no such sample'\), which JSON stores as \{\} \(throw it to fail the job/,
    ],
    [
      { errors: [new TypeError('bad')] },
      /holds a TypeError \('bad'\) \(at \.errors\[0\]\), which JSON stores as \{\}/,
    ],
  ];
  for (const [value, message] of refused) {
    const err = catchIt(() => encodeValue(value, "return value of job 'j'"));
    t.type(err, JobDeclarationError);
    t.match((err as Error).message, message);
  }
  // Plain data still goes through, a Date as its ISO string (its own toJSON, as JSON always does).
  t.same(encodeValue({ n: 1.5, s: 'x', a: [true, null], o: { d: new Date(0) } }, 'v'), {
    n: 1.5,
    s: 'x',
    a: [true, null],
    o: { d: '1970-01-01T00:00:00.000Z' },
  });
  t.end();
});

t.test('a refused value names where in it the refused part sits, as JavaScript would reach it', (t) => {
  const rows: [name: string, value: unknown, message: string][] = [
    [
      'a function at a key',
      { cb: () => 1 },
      "return value of job 'j' holds a function (at .cb), which cannot be stored (use plain data)",
    ],
    [
      'a BigInt in an object in an array',
      { a: [1, { b: 2n }] },
      "return value of job 'j' holds the BigInt 2n (at .a[1].b), which cannot be stored: JSON has no BigInt (store it as a string, String(n), and read it back with BigInt(s))",
    ],
    [
      'a Map in an array at the top',
      [0, [1, new Map()]],
      "return value of job 'j' holds a Map (at [1][1]), which JSON stores as {} (use a plain object, or an array of [key, value] pairs)",
    ],
    [
      'a key that is no name, quoted',
      { 'sample 1': { 'x-y': Symbol('s') } },
      'return value of job \'j\' holds a symbol (at ["sample 1"]["x-y"]), which cannot be stored (use plain data)',
    ],
    [
      'a long key, cut',
      { ['k'.repeat(100)]: () => 1 },
      `return value of job 'j' holds a function (at ["${'k'.repeat(40)}…"]), which cannot be stored (use plain data)`,
    ],
    [
      'past a toJSON, at the key it had',
      { when: { toJSON: () => ({ at: 1n }) } },
      "return value of job 'j' holds the BigInt 1n (at .when.at), which cannot be stored: JSON has no BigInt (store it as a string, String(n), and read it back with BigInt(s))",
    ],
    [
      'the second place an object is held: the path of the one being written',
      ((shared: object) => ({ first: { ok: shared }, second: [shared, { bad: NaN }] }))({ n: 1 }),
      "return value of job 'j' holds NaN (at .second[1].bad), which JSON stores as null (use null, or a string)",
    ],
    [
      'a cycle back to the value itself: where it closes, one line',
      ((a: Record<string, unknown>) => ((a.self = a), a))({ n: 1 }),
      "return value of job 'j' holds a reference back to the value itself (at .self), a cycle, which JSON cannot store (hold ids in place of back-references, or a copy without them)",
    ],
    [
      'a cycle deeper in: where it closes and what it points back to',
      ((b: { name: string; parent?: object }) => {
        const tree = { kids: [{ name: 'a' }, b] };
        b.parent = tree.kids;
        return tree;
      })({ name: 'b' }),
      "return value of job 'j' holds a reference back to .kids (at .kids[1].parent), a cycle, which JSON cannot store (hold ids in place of back-references, or a copy without them)",
    ],
    [
      'an array holding itself',
      ((a: unknown[]) => (a.push(a), a))([0]),
      "return value of job 'j' holds a reference back to the value itself (at [1]), a cycle, which JSON cannot store (hold ids in place of back-references, or a copy without them)",
    ],
    [
      'the value itself: no path',
      () => 1,
      "return value of job 'j' holds a function, which cannot be stored (use plain data)",
    ],
  ];
  for (const [name, value, message] of rows) {
    const err = catchIt(() => encodeValue(value, "return value of job 'j'"));
    t.type(err, JobDeclarationError, name);
    t.equal((err as Error).message, message, name);
  }
  t.end();
});

t.test('a value larger than 64 MiB as JSON is refused, pointing at files for big data', (t) => {
  t.equal(MAX_VALUE_BYTES, 64 * 2 ** 20, 'the documented limit');
  // JSON adds the two quotes: this string is the limit exactly, one more character is over.
  const atLimit = 'x'.repeat(MAX_VALUE_BYTES - 2);
  t.equal((encodeValue(atLimit, 'v') as string).length, MAX_VALUE_BYTES - 2, 'the limit itself goes through');
  const err = catchIt(() => encodeValue(`${atLimit}x`, "return value of job 'big'"));
  t.type(err, JobDeclarationError);
  t.match(
    (err as Error).message,
    /^return value of job 'big' is 64\.0 MiB as JSON, more than the 64 MiB a job's value may be .*job\.fileStore\.writeGlobalFile/,
  );
  // Bytes, not characters: a character of three UTF-8 bytes counts three times.
  t.throws(
    () => encodeValue({ s: '\u20ac'.repeat(MAX_VALUE_BYTES / 3) }, 'input'),
    /^input is 64\.0 MiB as JSON/,
  );
  t.end();
});

t.test('promises resolve through return values that are themselves promises, with paths', (t) => {
  const values: Record<string, unknown> = {
    a: { list: [10, 20] },
    b: { [PROMISE_MARKER]: { job: 'a', path: ['list'] } },
  };
  const input = {
    first: { [PROMISE_MARKER]: { job: 'b', path: [1] } },
    whole: { [PROMISE_MARKER]: { job: 'a', path: [] } },
  };
  t.same(promisedJobs(input), new Set(['b', 'a']));
  t.same(
    resolvePromises(input, (id) => values[id] as never),
    { first: 20, whole: { list: [10, 20] } },
  );
  t.throws(
    () =>
      resolvePromises(
        { [PROMISE_MARKER]: { job: 'a', path: ['nope', 'deeper'] } },
        (id) => values[id] as never,
      ),
    /has no element/,
  );
  // An element the value lacks is refused, not passed on as null (Toil's rv(i) raises too).
  const lookup = (id: string): never => values[id] as never;
  t.throws(
    () => resolvePromises({ [PROMISE_MARKER]: { job: 'a', path: ['list', 9] } }, lookup),
    /^promised value of job a has no element 9 \(it is an array of 2\)$/,
  );
  t.throws(
    () => resolvePromises({ [PROMISE_MARKER]: { job: 'a', path: ['lsit'] } }, lookup),
    /has no element "lsit" \(it is an object with keys "list"\)/,
  );
  t.throws(
    () => resolvePromises({ [PROMISE_MARKER]: { job: 'a', path: ['list', 'x'] } }, lookup),
    /no element "x"/,
  );
  // Given the jobs' names (the leader's graph has them), the error names the job, not only its id.
  const names: Record<string, string> = { a: 'producer', b: 'relay' };
  t.throws(
    () => resolvePromises({ [PROMISE_MARKER]: { job: 'a', path: ['lsit'] } }, lookup, (id) => names[id]),
    /^promised value of job 'producer' \(a\) has no element "lsit" \(it is an object with keys "list"\)$/,
  );
  t.throws(
    () => resolvePromises({ [PROMISE_MARKER]: { job: 'b', path: [7] } }, lookup, (id) => names[id]),
    /^promised value of job 'relay' \(b\) has no element 7 \(it is an array of 2\)$/,
    "b's value (its promise of a's list, resolved) is the one that lacks the element",
  );
  t.same(
    resolvePromises({ [PROMISE_MARKER]: { job: 'n', path: ['k'] } }, () => ({ k: null })),
    null,
    'a null that is there',
  );
  t.end();
});

t.test(
  "a chain of 10,000 jobs each returning the next one's promise resolves (Toil's recursive pattern)",
  (t) => {
    // step i returns step i+1's rv('next'), wrapped so each link's path is applied in order.
    const n = 10_000;
    const values: Record<string, unknown> = { [`s${n}`]: { next: { next: 'bottom' } } };
    for (let i = 0; i < n; i++) values[`s${i}`] = { [PROMISE_MARKER]: { job: `s${i + 1}`, path: [] } };
    values[`s${n - 1}`] = { [PROMISE_MARKER]: { job: `s${n}`, path: ['next'] } };
    const lookup = (id: string): never => values[id] as never;
    t.same(resolvePromises({ [PROMISE_MARKER]: { job: 's0', path: ['next'] } }, lookup), 'bottom');
    t.same(resolvePromises({ [PROMISE_MARKER]: { job: 's0', path: [] } }, lookup), { next: 'bottom' });
    values.loop = { [PROMISE_MARKER]: { job: 'loop2', path: [] } };
    values.loop2 = { [PROMISE_MARKER]: { job: 'loop', path: [] } };
    t.throws(
      () => resolvePromises({ [PROMISE_MARKER]: { job: 'loop', path: [] } }, lookup),
      /promise of itself/,
    );
    t.end();
  },
);

t.test(
  'defineJob registers by name; handles declare successors and promises; brands work across copies',
  (t) => {
    const job = defineJob<number, number>('api-test-double', { cores: 1 }, (_j, n) => n * 2);
    t.ok(isJobDefinition(job));
    t.notOk(isJobDefinition({ name: 'x' }));
    t.throws(() => defineJob('api-test-double', () => 1), /already defined/);
    t.throws(() => defineJob('', () => 1), /non-empty name/);
    const wf = defineWorkflow({ start: (ctx) => ctx.root(job, 1) });
    t.ok(isWorkflowDefinition(wf));
    // A value branded by another copy of the API (Symbol.for) is recognised.
    t.ok(isJobDefinition({ [Symbol.for('toil-ts.job-definition')]: true }));
    const c = new JobCollector();
    const root = c.declare(job, 1);
    const kid = root.addChild(job, root.rv());
    root.addFollowOn(job, kid.rv(), { memory: '1Gi' });
    const specs = c.specs();
    t.equal(specs.length, 3);
    t.same(specs[0]!.children, [kid.jobId]);
    t.equal(specs[0]!.followOns.length, 1);
    t.same(specs[1]!.input, { [PROMISE_MARKER]: { job: root.jobId, path: [] } });
    t.equal(specs[2]!.requirements.memory, 2 ** 30);
    t.throws(() => c.declare({ name: 'fake' } as never, 1), /expected a job made with defineJob/);
    // A handle where its promise was meant (`return job.addFollowOn(...)` without `.rv()`).
    t.throws(
      () => encodeValue({ sum: kid }, "return value of job 'r'"),
      /^return value of job 'r' holds the job 'api-test-double' itself \(at \.sum\), which cannot be stored \(use its promise, `\.rv\(\)`, for the value it returns\)$/,
    );
    // An input given to addChild or addFollowOn is judged the same way, the path named.
    t.throws(
      () => root.addChild(job, { samples: [{ id: 1 }, { id: 2n }] } as never),
      /^input of job 'api-test-double' holds the BigInt 2n \(at \.samples\[1\]\.id\), which cannot be stored/,
    );
    t.throws(
      () => root.addFollowOn(job, { onDone: () => 1 } as never),
      /^input of job 'api-test-double' holds a function \(at \.onDone\), which cannot be stored \(use plain data\)$/,
    );
    t.throws(
      () => root.addChild(job, ((o: Record<string, unknown>) => ((o.back = { to: o }), o))({}) as never),
      /^input of job 'api-test-double' holds a reference back to the value itself \(at \.back\.to\), a cycle, which JSON cannot store/,
    );
    // Toil's DAG edge to the root: a cycle, refused naming both.
    t.throws(
      () => kid.addChild(root),
      /^addChild: making job 'api-test-double' a child of 'api-test-double' would close a cycle \('api-test-double' → 'api-test-double' → 'api-test-double'\), so none of them could ever start \(Toil refuses this graph too\)/,
    );
    t.end();
  },
);

t.test(
  "a promise is taken only by a job that surely starts after its producer finished (Toil's ordering), else refused where it is added",
  (t) => {
    const j = defineJob<unknown, unknown>('api-test-order', (_j, v) => v);
    const followOn = { parent: ADDING_JOB, kind: 'followOn' } as const;
    // Each case adds jobs to a fresh collector (the running job's own addChild is declare(), its
    // addFollowOn declare(…, followOn)); the last line adds the job given the promise.
    const cases: [string, (c: JobCollector) => void, boolean][] = [
      [
        "a follow-on given its parent's children's values (Toil's binaryStrings, the sort's up)",
        (c) => c.declare(j, [c.declare(j, 0).rv(), c.declare(j, 1).rv()], undefined, followOn),
        true,
      ],
      ['a child of the producer', (c) => ((a) => a.addChild(j, a.rv()))(c.declare(j, 0)), true],
      ['a follow-on of the producer', (c) => ((a) => a.addFollowOn(j, a.rv()))(c.declare(j, 0)), true],
      [
        'a grandchild given its grandparent’s value',
        (c) => ((a) => a.addChild(j, 0).addChild(j, a.rv()))(c.declare(j, 0)),
        true,
      ],
      [
        "a follow-on given a value from deep in a child's subtree (a grandchild's, a child's follow-on's)",
        (c) => {
          const a = c.declare(j, 0);
          c.declare(j, [a.addChild(j, 0).rv(), a.addFollowOn(j, 0).rv()], undefined, followOn);
        },
        true,
      ],
      [
        "a child of a follow-on given a child's value (it runs after its parent, after the children's subtrees)",
        (c) => ((a) => c.declare(j, 0, undefined, followOn).addChild(j, a.rv()))(c.declare(j, 0)),
        true,
      ],
      [
        'a handle’s follow-on given its child’s value',
        (c) => ((a) => a.addFollowOn(j, a.addChild(j, 0).rv()))(c.declare(j, 0)),
        true,
      ],
      ['a sibling child', (c) => c.declare(j, c.declare(j, 0).rv()), false],
      [
        'a sibling follow-on',
        (c) => c.declare(j, c.declare(j, 0, undefined, followOn).rv(), undefined, followOn),
        false,
      ],
      [
        'a child of the producer’s sibling',
        (c) => ((a) => c.declare(j, 0).addChild(j, a.rv()))(c.declare(j, 0)),
        false,
      ],
      [
        'a follow-on of the producer’s sibling',
        (c) => ((a) => c.declare(j, 0).addFollowOn(j, a.rv()))(c.declare(j, 0)),
        false,
      ],
      [
        'a child given its sibling’s child’s value',
        (c) => ((a) => a.addChild(j, a.addChild(j, 0).rv()))(c.declare(j, 0)),
        false,
      ],
      [
        "a child of the producer's child given a value of a job its parent added",
        (c) => ((a) => a.addChild(j, 0).addChild(j, a.addFollowOn(j, 0).rv()))(c.declare(j, 0)),
        false,
      ],
    ];
    for (const [name, add, allowed] of cases) {
      const e = catchIt(() => ((c) => (add(c), c.checkComplete()))(new JobCollector()));
      if (allowed) t.equal(e, undefined, `taken: ${name}`);
      else t.ok(e instanceof JobDeclarationError, `refused: ${name}`);
    }
    const slow = defineJob<unknown, unknown>('slow', (_j, v) => v);
    const b = defineJob<unknown, unknown>('b', (_j, v) => v);
    // Judged when the adding job ends (an edge added later may order them), thrown from where it was added.
    const c = new JobCollector();
    c.declare(b, c.declare(slow, null).rv());
    t.throws(
      () => c.checkComplete(),
      /^job 'b' is given the value of job 'slow' \(its rv\(\)\), but may start before 'slow' has finished, so the value would be there or not by timing: add 'b' as a follow-on of the job that added 'slow' \(addFollowOn: it runs after every child's whole subtree\), or a child of 'slow' \(its handle's addChild\), or give it an edge from 'slow' as well \(its handle's addChild\(handle of 'b'\)\)$/,
    );
    const e = catchIt(() => c.checkComplete()) as Error;
    t.match(e.stack, /api\.test\.ts/, "the error's stack points at where 'b' was added");
    const d = new JobCollector();
    const f = d.declare(slow, null, undefined, followOn);
    d.declare(b, { x: [f.rv('k')] }, undefined, followOn);
    t.throws(
      () => d.checkComplete(),
      /add 'b' as a child or a follow-on of 'slow' \(its handle's addChild or addFollowOn\), or give/,
    );
    t.end();
  },
);

function catchIt(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  return undefined;
}

t.test(
  "Toil's DAG edges to an existing job: accepted where they order it, refused where they would close a cycle (checkJobGraphAcylic)",
  (t) => {
    const j = defineJob<unknown, unknown>('api-test-dag', (_j, v) => v);
    const followOn = { parent: ADDING_JOB, kind: 'followOn' } as const;
    // Each case builds jobs on a fresh collector; refused ones throw where the edge is added.
    const cases: [string, (c: JobCollector) => void, RegExp | undefined][] = [
      [
        "the tutorial's j3.addChild(j4) of j2's child (multiplejobs3)",
        (c) => {
          const j1 = c.declare(j, 1);
          const [j2, j3] = [j1.addChild(j, 2), j1.addChild(j, 3)];
          j3.addChild(j2.addChild(j, 4));
        },
        undefined,
      ],
      [
        'a join taking both predecessors’ promises (a diamond)',
        (c) => {
          const a = c.declare(j, 0);
          const [l, r] = [a.addChild(j, 1), a.addChild(j, 2)];
          r.addChild(l.addChild(j, [l.rv(), r.rv()]));
        },
        undefined,
      ],
      [
        "the running job's own edge to a job it added under its follow-on (job.addFollowOn(existing))",
        (c) => c.declare(c.declare(j, 0, undefined, followOn).addChild(j, 1), undefined, undefined, followOn),
        undefined,
      ],
      [
        'the same edge twice (Toil keeps a set: once)',
        (c) => ((a, b) => (a.addChild(b), a.addChild(b)))(c.declare(j, 0), c.declare(j, 1)),
        undefined,
      ],
      ['a job as its own child', (c) => ((a) => a.addChild(a))(c.declare(j, 0)), /would close a cycle/],
      [
        'a child made a child of its own child',
        (c) => ((a) => a.addChild(j, 1).addChild(a))(c.declare(j, 0)),
        /would close a cycle/,
      ],
      [
        'a job below a child made a follow-on of the running job (it would wait for its own subtree)',
        (c) => c.declare(c.declare(j, 0).addChild(j, 1), undefined, undefined, followOn),
        /would close a cycle .*a follow-on runs after its parent's children's whole subtrees/,
      ],
      [
        "a follow-on's successor made a child of the parent's child (the follow-on waits for it)",
        (c) => {
          const a = c.declare(j, 0);
          const kid = a.addChild(j, 1);
          kid.addChild(a.addFollowOn(j, 2));
        },
        /would close a cycle/,
      ],
      [
        'a child and a follow-on of the same job at once',
        (c) => ((a) => a.addFollowOn(a.addChild(j, 1)))(c.declare(j, 0)),
        /is already a child of 'api-test-dag', so it cannot also be a follow-on of it/,
      ],
      [
        'a handle of a job another job added',
        (c) => c.declare(j, 0).addChild(new JobCollector().declare(j, 1)),
        /was added by another job .*an edge may only join jobs the same job added/,
      ],
    ];
    for (const [name, add, refused] of cases) {
      const c = new JobCollector();
      const e = catchIt(() => (add(c), c.checkComplete()));
      if (!refused) t.equal(e, undefined, `accepted: ${name}`);
      else {
        t.ok(e instanceof JobDeclarationError, `refused: ${name}`);
        t.match((e as Error).message, refused, `refused: ${name}: says why`);
      }
    }
    // The join's edges are in the specs: after j2 and j3 both.
    const c = new JobCollector();
    const j1 = c.declare(j, 1);
    const [j2, j3] = [j1.addChild(j, 2), j1.addChild(j, 3)];
    const j4 = j3.addChild(j2.addChild(j, 4));
    const byId = new Map(c.specs().map((s) => [s.id, s]));
    t.same(byId.get(j2.jobId)!.children, [j4.jobId]);
    t.same(byId.get(j3.jobId)!.children, [j4.jobId]);
    t.same(c.addingJobSuccessors(), { children: [j1.jobId], followOns: [] });
    t.end();
  },
);

t.test(
  "promised requirements (Toil's PromisedRequirement): kept as promises, taken under the ordering of promised inputs, read as sizes by the leader",
  (t) => {
    const j = defineJob<unknown, unknown>('api-test-promised-req', (_j, v) => v);
    const followOn = { parent: ADDING_JOB, kind: 'followOn' } as const;
    const c = new JobCollector();
    const download = c.declare(j, 0);
    const analysis = c.declare(j, 0, { cores: 0.5, disk: download.rv(1) }, followOn);
    const spec = c.specs().find((s) => s.id === analysis.jobId)!;
    t.same(spec.requirements, {
      cores: 0.5,
      promised: { disk: { [PROMISE_MARKER]: { job: download.jobId, path: [1] } } },
    });
    t.equal(
      catchIt(() => c.checkComplete()),
      undefined,
      "a follow-on may ask for a child's value",
    );
    const d = new JobCollector();
    d.declare(j, 0, { memory: d.declare(j, 0).rv() });
    t.throws(
      () => d.checkComplete(),
      /^job 'api-test-promised-req' is given the value of job 'api-test-promised-req' \(its rv\(\)\), but may start before/,
      "a sibling's value as a requirement is refused as a sibling's value as an input is",
    );
    const values: Record<string, Json> = {
      p: ['f', 1234],
      s: { size: '2Gi' },
      n: 3,
      bad: 'lots',
      neg: -1,
      str: '4',
    };
    const promised = (job: string, path: (string | number)[] = []): Json => ({
      [PROMISE_MARKER]: { job, path },
    });
    const lookup = (id: string): Json => values[id]!;
    t.same(
      resolvePromisedRequirements(
        { memory: 5, promised: { disk: promised('p', [1]), cores: promised('n') } },
        lookup,
        'x',
      ),
      { memory: 5, disk: 1234, cores: 3 },
    );
    t.same(resolvePromisedRequirements({ promised: { memory: promised('s', ['size']) } }, lookup, 'x'), {
      memory: 2 * 2 ** 30,
    });
    t.throws(
      () => resolvePromisedRequirements({ promised: { disk: promised('bad') } }, lookup, 'x'),
      /^job 'x': its disk requirement, the value promised by job bad, is "lots", not a size \(a number of bytes, or a string like "600M" or "2Gi"\)$/,
    );
    t.throws(
      () => resolvePromisedRequirements({ promised: { disk: promised('bad') } }, lookup, 'x', () => 'stage'),
      /^job 'x': its disk requirement, the value promised by job 'stage' \(bad\), is "lots", not a size/,
    );
    t.throws(
      () => resolvePromisedRequirements({ promised: { cores: promised('neg') } }, lookup, 'x'),
      /its cores requirement, the value promised by job neg, is -1, not a positive number of cores/,
    );
    t.same(
      resolvePromisedRequirements({ promised: { cores: promised('str') } }, lookup, 'x'),
      { cores: 4 },
      'promised cores as a string, as declared ones',
    );
    t.end();
  },
);

t.test(
  "encapsulate() (Toil's EncapsulatedJob): what is added to it runs after the job and all below it",
  (t) => {
    const j = defineJob<unknown, unknown>('api-test-encapsulate', (_j, v) => v);
    const c = new JobCollector();
    const a = c.declare(j, 0);
    const below = a.addChild(j, 1);
    const e = a.encapsulate();
    const b = e.addChild(j, [e.rv(), below.rv()]);
    t.equal(
      catchIt(() => c.checkComplete()),
      undefined,
      "B may take A's value and a value from below A",
    );
    t.same(e.rv(), a.rv(), "the encapsulation's value is A's");
    const byId = new Map(c.specs().map((s) => [s.id, s]));
    const spec = byId.get(e.jobId)!;
    t.equal(spec.name, ENCAPSULATION_JOB);
    t.same(spec.input, { encapsulates: a.jobId });
    t.same(spec.children, [a.jobId], 'A is its child');
    const end = byId.get(spec.followOns[0]!)!;
    t.same(end.children, [b.jobId], 'B hangs from its end (its follow-on)');
    t.same(c.addingJobSuccessors().children, [a.jobId, e.jobId], 'it takes the edges into A');
    // A job added beside the encapsulation may not take its value: it could start first.
    c.declare(j, e.rv());
    t.throws(() => c.checkComplete(), /may start before 'api-test-encapsulate' has finished/);
    t.end();
  },
);

t.test(
  "checkpoint jobs: the flag travels in the job's spec; a successor on its handle (new job or edge) is refused naming both",
  (t) => {
    const work = defineJob<number, number>('api-test-ck-work', (_j, n) => n);
    const ck = defineJob<number, number>('api-test-ck', { checkpoint: true }, (_j, n) => n);
    const c = new JobCollector();
    const h = c.declare(ck, 1);
    const plain = c.declare(work, 2, { checkpoint: false });
    const viaOverride = c.declare(work, 3, { checkpoint: true });
    const specs = new Map(c.specs().map((s) => [s.id, s]));
    t.equal(specs.get(h.jobId)!.checkpoint, true);
    t.equal(specs.get(plain.jobId)!.checkpoint, undefined);
    t.equal(specs.get(viaOverride.jobId)!.checkpoint, true);
    t.equal(specs.get(h.jobId)!.requirements.cores, undefined, 'not a requirement of the node');
    const refused = /job 'api-test-ck' is a checkpoint job, which may have no successors when it is added/;
    t.throws(() => h.addChild(work, 1), refused);
    t.throws(() => h.addFollowOn(work, 1), refused);
    t.throws(() => h.addChild(plain), refused, 'an edge from it to an existing job too');
    t.same(c.specs().find((s) => s.id === h.jobId)!.children, [], 'nothing was added');
    plain.addChild(h);
    h.encapsulate().addChild(work, 4);
    t.throws(
      () => c.declare(work, 1, { checkpoint: 'yes' as never }),
      /^job 'api-test-ck-work': checkpoint must be true or false, got "yes"$/,
    );
    t.end();
  },
);

t.test(
  'services: addService on a job or a handle lists the service with its host; its rv() is for what runs below the host; no edges to it, none on a checkpoint',
  (t) => {
    const work = defineJob<unknown, number>('api-test-svc-work', () => 1);
    const ck = defineJob<null, number>('api-test-svc-ck', { checkpoint: true }, () => 1);
    const db = defineService<string, string>('api-test-svc-db', { cores: 2 }, (tag) => ({
      start: () => tag,
      stop: () => {},
    }));
    t.ok(isServiceDefinition(db));
    t.notOk(isServiceDefinition(work));
    const c = new JobCollector();
    const host = c.declare(work, 1);
    const s = host.addService(db, 'x');
    host.addChild(work, s.rv());
    const running = c.declareService(db, 'y');
    c.declare(work, running.rv());
    c.checkComplete();
    const specs = new Map(c.specs().map((x) => [x.id, x]));
    t.same(specs.get(host.jobId)!.services, [s.jobId]);
    t.equal(specs.get(s.jobId)!.service, true);
    t.equal(specs.get(s.jobId)!.requirements.cores, 2);
    t.same(
      c.addingJobSuccessors().services,
      [running.jobId],
      "the running job's own service, for its commit",
    );
    t.throws(() => host.addChild(s as never), /addChild: 'api-test-svc-db' is a service, not a job/);
    t.throws(
      () => c.declare(ck, null).addService(db, 'z'),
      /addService: job 'api-test-svc-ck' is a checkpoint job, which may have no successors or services when it is added/,
    );
    const sibling = new JobCollector();
    const h2 = sibling.declare(work, 1);
    const s2 = h2.addService(db, 'w');
    sibling.declare(work, s2.rv());
    t.throws(
      () => sibling.checkComplete(),
      /job 'api-test-svc-work' is given the value of service 'api-test-svc-db' \(its rv\(\)\), but may start before 'api-test-svc-db' has started: add 'api-test-svc-work' below 'api-test-svc-work'/,
    );
    t.throws(
      () => c.declareService(work as never, 1),
      /addService: expected a service made with defineService/,
    );
    // Toil's Service.addChild: a sub-service may take its parent's value; a sibling service may not.
    const subs = new JobCollector();
    const master = subs.declareService(db, 'm');
    const worker = master.addChild(db, master.rv());
    worker.addChild(db, master.rv());
    subs.checkComplete();
    t.same(subs.addingJobSuccessors().services?.length, 3, "all three are the running job's services");
    t.equal(subs.specs().find((x) => x.id === worker.jobId)!.afterService, master.jobId);
    const siblings = new JobCollector();
    const first = siblings.declareService(db, 'one');
    siblings.declareService(db, first.rv());
    t.throws(
      () => siblings.checkComplete(),
      /service 'api-test-svc-db' is given the value of service 'api-test-svc-db' \(its rv\(\)\), but may start before 'api-test-svc-db' has started \(a job's services start side by side\): add 'api-test-svc-db' as a sub-service/,
    );
    t.end();
  },
);

t.test("the public API reads a size as Toil's human2bytes does, for a workflow's own flags", async (t) => {
  t.equal(tryParseBytes('0.6G'), 600_000_000, 'G is decimal');
  t.equal(tryParseBytes('2Gi'), 2 * 2 ** 30, 'Gi is binary');
  t.equal(tryParseBytes('lots'), undefined, 'malformed is undefined, for the workflow to refuse');
});

t.test(
  "a promise used as a string or a number throws at that line, naming the job, instead of storing '[object Object]' or NaN",
  (t) => {
    const j = defineJob<number, number>('api-test-rv-misuse', (_j, n) => n);
    const c = new JobCollector();
    const a = c.declare(j, 1);
    const said =
      /^the promise of job 'api-test-rv-misuse' \(its rv\(\)\) has no value yet, so it cannot be used as (a string|a number|a string or a number): pass it whole in the input of a job that runs after 'api-test-rv-misuse' \(a follow-on\), which receives its value$/;
    // The casts are what an untyped workflow (or one without typed lint) does without them.
    const rows: [string, () => unknown, string][] = [
      ['in a template string', () => `value=${a.rv() as unknown as string}`, 'a string'],
      ['added to a string', () => 'value=' + (a.rv() as unknown as string), 'a string or a number'],
      ['added to a number', () => (a.rv() as unknown as number) + 1, 'a string or a number'],
      ['multiplied', () => (a.rv() as unknown as number) * 2, 'a number'],
      ['a path into its value', () => `${a.rv('field') as unknown as string}`, 'a string'],
    ];
    for (const [name, use, as] of rows) {
      let thrown: unknown;
      try {
        use();
      } catch (e) {
        thrown = e;
      }
      t.type(thrown, TypeError, `${name}: a TypeError`);
      t.match((thrown as Error).message, said, `${name}: names the job and the way out`);
      t.equal(said.exec((thrown as Error).message)?.[1], as, `${name}: as ${as}`);
    }
    // Passed whole it is stored as its job and path alone, as before.
    const p = a.rv('field');
    t.same(encodeValue({ x: p }, 'input'), { x: { [PROMISE_MARKER]: { job: a.jobId, path: ['field'] } } });
    t.same(
      JSON.parse(JSON.stringify(p)),
      { jobId: a.jobId, path: ['field'] },
      'JSON sees only its job and path',
    );
    t.end();
  },
);
