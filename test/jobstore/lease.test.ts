import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { ManualClock } from '../../src/common/clock.js';
import { JobStoreLeasedError, LeaseLostError } from '../../src/jobstore/errors.js';
import { FileObjectStore } from '../../src/jobstore/fileObjectStore.js';
import type { LeaseHolder } from '../../src/jobstore/jobRecords.js';
import { JobStore } from '../../src/jobstore/jobStore.js';
import { localHolder, provablyGone } from '../../src/jobstore/lease.js';

type Test = Parameters<Parameters<typeof t.test>[0]>[0];

const TTL = 60_000;

async function fresh(t: Test): Promise<JobStore> {
  const dir = mkdtempSync(join(tmpdir(), 'toil-lease-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const store = new JobStore(new FileObjectStore(join(dir, 'js'), 'file:./js'));
  await store.create();
  return store;
}

function holder(host: string, pid: number, more: Partial<LeaseHolder> = {}): LeaseHolder {
  return {
    id: `${host}-${pid}-${Math.random()}`,
    host,
    pid,
    bootId: 'boot-1',
    pidNamespace: 'pid:[1]',
    ...more,
  };
}

const alive = (): boolean => true;

t.test('a second leader is refused, told who holds the store and until when', async (t) => {
  const store = await fresh(t);
  const clock = new ManualClock(Date.UTC(2026, 10, 29, 2, 0, 0));
  const first = await store.acquireLease({ clock, ttlMs: TTL, holder: holder('leader-a', 100) });
  t.equal(first.generation, 0);
  await clock.advance(TTL - 1);
  const err = await store
    .acquireLease({ clock, ttlMs: TTL, holder: holder('leader-b', 200), isAlive: alive })
    .catch((e: unknown) => e);
  t.type(err, JobStoreLeasedError);
  t.match(err, {
    code: 'JOBSTORE_LEASED',
    disposition: 'user',
    message:
      'job store file:./js is in use by the leader on leader-a (pid 100, generation 0) until 2026-11-29T02:01:00.000Z',
  });
  t.notMatch((err as Error).message, /\n/, 'one line');
});

const heldBy: [name: string, first: LeaseHolder, told: string][] = [
  [
    'a second leader is told when the holder is a leader daemon, and which of its workflows',
    holder('cluster-leader', 100, { daemon: { workflowId: 'wf-1' } }),
    'the leader daemon on cluster-leader (pid 100, workflow wf-1, generation 0)',
  ],
  [
    'a second leader is told when the holder is a toil run --provisioner aws, not a daemon',
    holder('laptop', 100, { daemon: { workflowId: 'wf-1', run: true } }),
    'the toil run --provisioner aws on laptop (pid 100, generation 0)',
  ],
];
for (const [name, first, told] of heldBy)
  t.test(name, async (t) => {
    const store = await fresh(t);
    const clock = new ManualClock(Date.UTC(2026, 10, 29, 2, 0, 0));
    await store.acquireLease({ clock, ttlMs: TTL, holder: first });
    const err = await store
      .acquireLease({ clock, ttlMs: TTL, holder: holder('laptop', 200), isAlive: alive })
      .catch((e: unknown) => e);
    t.match(err, {
      code: 'JOBSTORE_LEASED',
      message: `job store file:./js is in use by ${told} until 2026-11-29T02:01:00.000Z`,
    });
  });

t.test('of leaders racing for a free store exactly one wins', async (t) => {
  const store = await fresh(t);
  const clock = new ManualClock();
  const results = await Promise.allSettled(
    Array.from({ length: 5 }, (_, i) =>
      store.acquireLease({ clock, ttlMs: TTL, holder: holder(`h${i}`, i + 1), isAlive: alive }),
    ),
  );
  t.equal(results.filter((r) => r.status === 'fulfilled').length, 1, 'one lease');
  for (const r of results) if (r.status === 'rejected') t.type(r.reason, JobStoreLeasedError);
});

t.test('a renewing leader keeps the store past the first term', async (t) => {
  const store = await fresh(t);
  const clock = new ManualClock();
  const lease = await store.acquireLease({ clock, ttlMs: TTL, holder: holder('a', 1) });
  const stop = new AbortController();
  const lost: Error[] = [];
  const loop = lease.keepRenewing(stop.signal, (e) => lost.push(e));
  for (let i = 0; i < 9; i++) {
    const before = lease.expiresAt;
    await clock.advance(TTL / 3);
    while (lease.expiresAt === before) await new Promise((r) => setTimeout(r, 5)); // the renewal's I/O
  }
  await t.rejects(
    store.acquireLease({ clock, ttlMs: TTL, holder: holder('b', 2), isAlive: alive }),
    JobStoreLeasedError,
    'still held three terms later',
  );
  t.ok(lease.expiresAt > clock.now(), 'its expiry moved forward');
  t.same(lost, []);
  stop.abort();
  await loop;
});

t.test("an expired lease is taken over, and the stale holder's writes are refused", async (t) => {
  const store = await fresh(t);
  const clock = new ManualClock();
  const stale = await store.acquireLease({ clock, ttlMs: TTL, holder: holder('a', 1) });
  const staleStore = store.fencedBy(stale);
  await staleStore.writeTicket(ticket('j1')); // while it holds the lease, writes go through
  await clock.advance(TTL + 1); // the holder stalled: no renewal
  const next = await store.acquireLease({ clock, ttlMs: TTL, holder: holder('b', 2), isAlive: alive });
  t.equal(next.generation, 1, 'the new leader runs the next generation');
  await t.rejects(
    staleStore.writeTicket(ticket('j2')),
    { code: 'JOBSTORE_LEASE_LOST', message: /expired at/ },
    'a write of the stale holder is refused (its lease lapsed)',
  );
  await t.rejects(staleStore.destroy(), LeaseLostError, 'so is destroying the store');
  t.equal(await store.exists(), true);
  t.equal(await store.readTicket('j2'), undefined, 'nothing was written');
});

t.test('a stale holder whose clock lags is refused by the store itself, by generation', async (t) => {
  const store = await fresh(t);
  const slow = new ManualClock(0);
  const stale = await store.acquireLease({ clock: slow, ttlMs: TTL, holder: holder('a', 1) });
  const fast = new ManualClock(10 * TTL);
  const next = await store.acquireLease({ clock: fast, ttlMs: TTL, holder: holder('b', 2), isAlive: alive });
  t.equal(next.generation, 1);
  // On its own clock the stale lease has not lapsed; the conditional write on leader.json fails.
  await t.rejects(stale.confirm(), {
    code: 'JOBSTORE_LEASE_LOST',
    message: /another leader took the job store over/,
  });
  await t.rejects(store.fencedBy(stale).writeTicket(ticket('j3')), LeaseLostError, 'and it stays fenced');
  await t.resolves(next.confirm(), 'the new holder is untouched: its own conditional renewal goes through');
});

t.test('a renewal the store refuses ends the loop and reports the loss once', async (t) => {
  const store = await fresh(t);
  const clock = new ManualClock(0);
  const stale = await store.acquireLease({ clock, ttlMs: TTL, holder: holder('a', 1) });
  const other = new ManualClock(5 * TTL);
  await store.acquireLease({ clock: other, ttlMs: TTL, holder: holder('b', 2), isAlive: alive });
  const lost: Error[] = [];
  const loop = stale.keepRenewing(new AbortController().signal, (e) => lost.push(e));
  await clock.advance(TTL / 3);
  await loop;
  t.equal(lost.length, 1);
  t.type(lost[0], LeaseLostError);
});

t.test(
  'renewals made at once (the loop and a confirm before finish) do not mistake each other for a take-over',
  async (t) => {
    const store = await fresh(t);
    const clock = new ManualClock();
    const lease = await store.acquireLease({ clock, ttlMs: TTL, holder: holder('a', 1) });
    await Promise.all([lease.renew(), lease.confirm(), lease.renew()]);
    t.doesNotThrow(() => lease.fence(), 'still held');
  },
);

t.test('released: the next leader takes over at once, with the next generation', async (t) => {
  const store = await fresh(t);
  const clock = new ManualClock();
  const first = await store.acquireLease({ clock, ttlMs: TTL, holder: holder('a', 1) });
  await first.release();
  const second = await store.acquireLease({ clock, ttlMs: TTL, holder: holder('b', 2), isAlive: alive });
  t.equal(second.generation, 1);
});

t.test(
  'a holder on this machine whose process is gone is taken over at once; anything less waits',
  async (t) => {
    const store = await fresh(t);
    const clock = new ManualClock();
    const me = holder('host-1', 500);
    await store.acquireLease({ clock, ttlMs: TTL, holder: holder('host-1', 400) });
    await t.rejects(
      store.acquireLease({ clock, ttlMs: TTL, holder: me, isAlive: alive }),
      JobStoreLeasedError,
      'its pid is alive: refused',
    );
    const taken = await store.acquireLease({ clock, ttlMs: TTL, holder: me, isAlive: (pid) => pid !== 400 });
    t.equal(taken.generation, 1, 'pid 400 is gone on this boot and pid namespace: taken over before expiry');

    const gone = (): boolean => false;
    const h = holder('host-1', 400);
    t.equal(provablyGone(h, holder('host-1', 500), gone), true);
    t.equal(provablyGone(h, holder('host-2', 500), gone), false, 'another host proves nothing');
    t.equal(provablyGone(h, holder('host-1', 500, { bootId: 'boot-2' }), gone), false, 'another boot');
    t.equal(
      provablyGone(h, holder('host-1', 500, { pidNamespace: 'pid:[2]' }), gone),
      false,
      'another container (pid namespace)',
    );
    t.equal(provablyGone({ id: 'x', host: 'host-1', pid: 400 }, me, gone), false, 'no boot id recorded');
    t.equal(provablyGone(holder('host-1', 500), holder('host-1', 500), gone), false, 'never ourselves');
    const local = localHolder();
    t.equal(local.pid, process.pid);
    t.equal(
      provablyGone({ ...local, id: 'other', pid: local.pid }, localHolder()),
      false,
      'this process is alive',
    );
  },
);

function ticket(jobId: string) {
  return {
    format: 1 as const,
    workflowId: 'w',
    jobId,
    name: 'n',
    input: null,
    requirements: { cores: 1, memory: 1, disk: 1, preemptable: false },
    module: { key: 'module.mjs', etag: 'e', size: 1 },
  };
}

t.test('a leader cleaning its own store stops renewing: no loss reported, the loop ends', async (t) => {
  const store = await fresh(t);
  const clock = new ManualClock();
  const lease = await store.acquireLease({ clock, ttlMs: TTL, holder: holder('a', 1) });
  const lost: Error[] = [];
  const loop = lease.keepRenewing(new AbortController().signal, (e) => lost.push(e));
  await store.fencedBy(lease).destroy();
  await clock.advance(TTL / 3);
  await t.resolves(loop, 'the loop ends by itself');
  t.same(lost, [], 'nothing lost');
});

t.test('a leader cleaning its own store waits for the renewal on its way before deleting it', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'toil-lease-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const files = new FileObjectStore(join(dir, 'js'), 'file:./js');
  // Once holding, the store takes each write and answers it only once released.
  let holding = false;
  let release: () => void = () => {};
  const released = new Promise<void>((r) => (release = r));
  const objects = new Proxy(files, {
    get(target, prop) {
      if (prop === 'put' && holding)
        return async (...a: Parameters<typeof files.put>) => (await released, files.put(...a));
      const value: unknown = Reflect.get(target, prop);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
  const store = new JobStore(objects);
  await store.create();
  const clock = new ManualClock();
  const lease = await store.acquireLease({ clock, ttlMs: TTL, holder: holder('a', 1) });
  holding = true;
  const loop = lease.keepRenewing(new AbortController().signal, () => {});
  await clock.advance(TTL / 3);
  const destroyed = store.fencedBy(lease).destroy();
  for (let w = 0; w < 20; w++) await new Promise((r) => setTimeout(r, 5));
  t.equal(await store.exists(), true, 'the deletion has not begun while the renewal is unanswered');
  release();
  await destroyed;
  t.equal(await store.exists(), false, 'it begins once the renewal is answered');
  await clock.advance(TTL / 3);
  await t.resolves(loop, 'and the loop ends by itself');
});

t.test(
  'a renewal that fails for an unexpected reason never rejects the loop; the lease lapses and is reported lost once',
  async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'toil-lease-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const store = new JobStore(new FileObjectStore(join(dir, 'js'), 'file:./js'));
    await store.create();
    const clock = new ManualClock();
    const lease = await store.acquireLease({ clock, ttlMs: TTL, holder: holder('a', 1) });
    const lost: Error[] = [];
    let settled: 'resolved' | 'rejected' | undefined;
    const loop = lease
      .keepRenewing(new AbortController().signal, (e) => lost.push(e))
      .then(
        () => void (settled = 'resolved'),
        () => void (settled = 'rejected'),
      );
    // The store vanishes under the leader (removed by hand): every renewal fails with ENOENT.
    rmSync(join(dir, 'js'), { recursive: true, force: true });
    for (let i = 0; i < 3 && !settled; i++) {
      await clock.advance(TTL / 3);
      for (let w = 0; w < 40 && !settled && lost.length === 0; w++)
        await new Promise((r) => setTimeout(r, 5));
    }
    await loop;
    t.equal(settled, 'resolved', 'the loop ended without rejecting');
    t.equal(lost.length, 1, 'the loss reported once');
    t.type(lost[0], LeaseLostError);
    t.match(lost[0]?.message, /expired/);
  },
);

/** A file store whose writes can be made to fail (`mode: 'fail'`) or never be answered (`'hang'`). */
async function unreliable(t: Test): Promise<{ store: JobStore; mode: { now: 'ok' | 'fail' | 'hang' } }> {
  const dir = mkdtempSync(join(tmpdir(), 'toil-lease-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const mode: { now: 'ok' | 'fail' | 'hang' } = { now: 'ok' };
  const files = new FileObjectStore(join(dir, 'js'), 'file:./js');
  const objects = new Proxy(files, {
    get(target, prop) {
      if (prop === 'put' && mode.now === 'fail')
        return () => Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:9'));
      if (prop === 'put' && mode.now === 'hang') return () => new Promise(() => {});
      const value: unknown = Reflect.get(target, prop);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
  const store = new JobStore(objects);
  await store.create();
  return { store, mode };
}

t.test(
  'a lease that lapses because the store failed its renewals says so, keeps the work for --restart, and is no user error',
  async (t) => {
    const { store, mode } = await unreliable(t);
    const clock = new ManualClock(Date.UTC(2026, 10, 29, 2, 0, 0));
    const lease = await store.acquireLease({ clock, ttlMs: TTL, holder: holder('a', 1) });
    const lost: Error[] = [];
    const loop = lease.keepRenewing(new AbortController().signal, (e) => lost.push(e));
    mode.now = 'fail';
    for (let i = 0; i < 3 && lost.length === 0; i++) {
      await clock.advance(TTL / 3);
      for (let w = 0; w < 40 && lost.length === 0; w++) await new Promise((r) => setTimeout(r, 5));
    }
    await loop;
    t.equal(lost.length, 1, 'the loss reported once');
    t.match(lost[0], {
      code: 'JOBSTORE_LEASE_LOST',
      disposition: 'retry',
      message:
        /^this leader lost its lease on job store file:\.\/js: it expired at 2026-11-29T02:01:00\.000Z: the job store failed its renewal at 2026-11-29T02:00:40\.000Z: connect ECONNREFUSED 127\.0\.0\.1:9; it stops without writing more; what it committed is kept: run again with --restart once the store answers$/,
    });
    t.notMatch(lost[0]?.message, /another leader/, 'no other leader is blamed');
  },
);

t.test(
  'a lease that lapses while the store has not answered its renewal says so, naming when it was sent',
  async (t) => {
    const { store, mode } = await unreliable(t);
    const clock = new ManualClock(Date.UTC(2026, 10, 29, 2, 0, 0));
    const lease = await store.acquireLease({ clock, ttlMs: TTL, holder: holder('a', 1) });
    mode.now = 'hang';
    void lease.renew().catch(() => {});
    await clock.advance(TTL);
    await t.rejects(store.fencedBy(lease).writeTicket(ticket('j1')), {
      code: 'JOBSTORE_LEASE_LOST',
      disposition: 'retry',
      message:
        /it expired at 2026-11-29T02:01:00\.000Z: the job store did not answer the renewal sent at 2026-11-29T02:00:00\.000Z; .*run again with --restart once the store answers$/,
    });
  },
);

t.test(
  'a renewal the store never answers ends the lease when it lapses: the loss is reported at the lapse, not once the store answers',
  async (t) => {
    const { store, mode } = await unreliable(t);
    const clock = new ManualClock(Date.UTC(2026, 10, 29, 2, 0, 0));
    const lease = await store.acquireLease({ clock, ttlMs: TTL, holder: holder('a', 1) });
    const lost: Error[] = [];
    const stop = new AbortController();
    t.teardown(() => stop.abort());
    const loop = lease.keepRenewing(stop.signal, (e) => lost.push(e));
    // The endpoint takes the renewal and never answers (a stalled server).
    mode.now = 'hang';
    await clock.advance(TTL / 3);
    for (let w = 0; w < 20; w++) await new Promise((r) => setTimeout(r, 5));
    t.same(lost, [], 'the renewal is waited for while the lease lasts');
    await clock.advance((2 * TTL) / 3 - 1);
    for (let w = 0; w < 20; w++) await new Promise((r) => setTimeout(r, 5));
    t.same(lost, [], 'not lost a millisecond before it lapses');
    await clock.advance(1);
    for (let w = 0; w < 40 && lost.length === 0; w++) await new Promise((r) => setTimeout(r, 5));
    t.equal(lost.length, 1, 'the loss is reported once the lease lapses, the renewal still unanswered');
    t.match(lost[0], {
      code: 'JOBSTORE_LEASE_LOST',
      disposition: 'retry',
      message:
        /it expired at 2026-11-29T02:01:00\.000Z: the job store did not answer the renewal sent at 2026-11-29T02:00:20\.000Z; it stops without writing more/,
    });
    await t.resolves(loop, 'the loop ends');
  },
);
