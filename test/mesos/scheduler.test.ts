import t from 'tap';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { RealClock } from '../../src/common/clock.js';
import { stringifyMesosJson } from '../../src/mesos/json.js';
import { encodeRecord } from '../../src/mesos/recordio.js';
import { MemoryFrameworkIdStore, MesosSchedulerClient, newStatusUuid } from '../../src/mesos/scheduler.js';
import type { FrameworkInfo, TaskStatus } from '../../src/mesos/types.js';
import { createLogger } from '../../src/common/log.js';
import { capturedLog } from '../fixtures/leaderFakes.js';

/** A scheduler call as the client sent it (only the parts the assertions read). */
interface Call {
  type?: string;
  framework_id?: { value: string };
  subscribe?: { framework_info: FrameworkInfo };
  reconcile?: unknown;
  decline?: unknown;
  revive?: unknown;
  acknowledge?: unknown;
}

interface Seen {
  path: string;
  headers: http.IncomingHttpHeaders;
  body: Call;
}

/**
 * A scripted master: records every request as sent (exact headers and body), and answers
 * SUBSCRIBE with whatever events the test scripts, then keeps the stream open.
 */
async function fakeMaster(
  script: (n: number, res: http.ServerResponse) => void,
  /** Answers a call other than SUBSCRIBE itself (default: 202 Accepted). */
  answer?: (body: Call, res: http.ServerResponse) => boolean,
): Promise<{ address: string; seen: Seen[]; close: () => Promise<void> }> {
  const seen: Seen[] = [];
  let subscribes = 0;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Call;
      seen.push({ path: req.url ?? '', headers: req.headers, body });
      if (body.type === 'SUBSCRIBE') {
        res.writeHead(200, { 'Content-Type': 'application/json', 'Mesos-Stream-Id': `stream-${subscribes}` });
        script(subscribes++, res);
      } else if (!answer?.(body, res)) {
        res.writeHead(202);
        res.end();
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    address: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: () => {
      server.closeAllConnections();
      return new Promise((r) => server.close(() => r()));
    },
  };
}

const send = (res: http.ServerResponse, event: unknown): void => {
  res.write(encodeRecord(stringifyMesosJson(event)));
};
const subscribed = (id: string, heartbeat = 15): unknown => ({
  type: 'SUBSCRIBED',
  subscribed: { framework_id: { value: id }, heartbeat_interval_seconds: heartbeat },
});

function client(address: string, store = new MemoryFrameworkIdStore()): MesosSchedulerClient {
  return new MesosSchedulerClient({
    master: address,
    framework: { name: 'toil', user: 'ubuntu', failoverTimeoutSeconds: 604800 },
    frameworkIdStore: store,
    clock: new RealClock(),
    backoffInitialMs: 50,
    backoffMaxMs: 200,
    reconcileRetryMs: 10_000,
  });
}

t.test('SUBSCRIBE and calls go out exactly as Mesos requires', async (t) => {
  const master = await fakeMaster((_n, res) => {
    send(res, subscribed('F-1'));
    send(res, { type: 'HEARTBEAT' });
  });
  t.teardown(() => master.close());
  const c = client(master.address);
  c.start({
    subscribed: () => undefined,
    offers: () => undefined,
    rescind: () => undefined,
    update: () => undefined,
  });
  t.teardown(() => c.stop());
  await c.waitSubscribed(5000);
  await c.decline(['O-1'], 30);
  await c.revive(['*']);
  const byType = (type: string): Seen[] => master.seen.filter((s) => s.body.type === type);
  const [sub] = byType('SUBSCRIBE');
  const [reconcile, implicit] = byType('RECONCILE');
  const [decline] = byType('DECLINE');
  const [revive] = byType('REVIVE');
  t.equal(sub!.path, '/api/v1/scheduler');
  t.equal(
    sub!.headers['content-type'],
    'application/json',
    'Content-Type exactly application/json (no charset: 415)',
  );
  t.equal(sub!.headers['accept'], 'application/json', 'never application/recordio (406)');
  t.equal(sub!.headers['mesos-stream-id'], undefined, 'SUBSCRIBE carries no Mesos-Stream-Id');
  const info = sub!.body.subscribe!.framework_info;
  t.equal(info.failover_timeout, 604800, 'a failover timeout, so a leader restart does not kill tasks');
  t.equal(info.checkpoint, true);
  t.same(info.roles, ['*']);
  t.same(info.capabilities!.map((x) => x.type).sort(), [
    'MULTI_ROLE',
    'PARTITION_AWARE',
    'TASK_KILLING_STATE',
  ]);
  t.notOk('id' in info, 'a first subscription has no id');
  t.ok(
    master.seen.indexOf(reconcile!) < master.seen.indexOf(implicit!),
    'explicit RECONCILE first, right after SUBSCRIBED',
  );
  t.same(implicit!.body.reconcile, { tasks: [] }, 'then implicit reconciliation');
  t.equal(decline!.headers['mesos-stream-id'], 'stream-0', 'calls carry the stream id');
  t.same(decline!.body, {
    framework_id: { value: 'F-1' },
    type: 'DECLINE',
    decline: { offer_ids: [{ value: 'O-1' }], filters: { refuse_seconds: 30 } },
  });
  t.same(revive!.body.revive, { roles: ['*'] }, 'REVIVE uses roles (an array), never role');
});

t.test(
  'updates with a uuid are acknowledged after the handler; master-generated ones never are',
  async (t) => {
    const uuid = newStatusUuid();
    const master = await fakeMaster((_n, res) => {
      send(res, subscribed('F-2'));
      const base = { task_id: { value: 'T' }, agent_id: { value: 'A-S0' }, timestamp: 1.5 };
      send(res, {
        type: 'UPDATE',
        update: { status: { ...base, state: 'TASK_RUNNING', uuid, source: 'SOURCE_EXECUTOR' } },
      });
      send(res, {
        type: 'UPDATE',
        update: {
          status: { ...base, state: 'TASK_LOST', source: 'SOURCE_MASTER', reason: 'REASON_RECONCILIATION' },
        },
      });
    });
    t.teardown(() => master.close());
    const statuses: TaskStatus[] = [];
    const c = client(master.address);
    c.start({
      subscribed: () => undefined,
      offers: () => undefined,
      rescind: () => undefined,
      update: (s) => void statuses.push(s),
    });
    t.teardown(() => c.stop());
    const deadline = Date.now() + 5000;
    while (statuses.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 100));
    const acks = master.seen.filter((s) => s.body.type === 'ACKNOWLEDGE');
    t.equal(statuses.length, 2);
    t.equal(acks.length, 1, 'exactly one ACKNOWLEDGE');
    t.same(acks[0]!.body.acknowledge, { agent_id: { value: 'A-S0' }, task_id: { value: 'T' }, uuid });
  },
);

t.test(
  'a silent stream is dead after the missed heartbeats; re-subscribe with the id in both places',
  async (t) => {
    const master = await fakeMaster((n, res) => {
      // Heartbeats promised every 0.1 s, none sent after the first: silence.
      send(res, subscribed('F-3', 0.1));
      if (n >= 1) send(res, { type: 'HEARTBEAT' });
    });
    t.teardown(() => master.close());
    const c = client(master.address);
    let disconnects = 0;
    c.start({
      subscribed: () => undefined,
      offers: () => undefined,
      rescind: () => undefined,
      update: () => undefined,
      disconnected: () => void disconnects++,
    });
    t.teardown(() => c.stop());
    const t0 = Date.now();
    while (c.subscriptionCount < 2 && Date.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 10));
    const took = Date.now() - t0;
    t.equal(c.subscriptionCount, 2, 're-subscribed after the silence');
    t.ok(took >= 400 && took < 2000, `dropped after ~5 × 0.1 s of silence (took ${took} ms)`);
    t.equal(disconnects, 1);
    const second = master.seen.filter((s) => s.body.type === 'SUBSCRIBE')[1]!;
    t.same(second.body.framework_id, { value: 'F-3' }, 'top-level framework_id');
    t.same(second.body.subscribe!.framework_info.id, { value: 'F-3' }, 'and framework_info.id, the same');
  },
);

t.test(
  "ERROR 'Framework has been removed': the id is forgotten and a new framework subscribes",
  async (t) => {
    const store = new MemoryFrameworkIdStore('F-old');
    const master = await fakeMaster((n, res) => {
      if (n === 0) {
        send(res, { type: 'ERROR', error: { message: 'Framework has been removed' } });
        res.end();
      } else send(res, subscribed('F-new'));
    });
    t.teardown(() => master.close());
    const c = client(master.address, store);
    c.start({
      subscribed: () => undefined,
      offers: () => undefined,
      rescind: () => undefined,
      update: () => undefined,
    });
    t.teardown(() => c.stop());
    await c.waitSubscribed(5000);
    const subs = master.seen.filter((s) => s.body.type === 'SUBSCRIBE');
    t.same(subs[0]!.body.framework_id, { value: 'F-old' });
    t.notOk('framework_id' in subs[1]!.body, 'the removed id is not reused');
    t.equal(await store.load(), 'F-new');
  },
);

/** A client of `address` logging at info into `lines`, started with no-op handlers and subscribed. */
async function subscribedLoggingClient(
  address: string,
  timing: { reconcileRetryMs?: number; backoffInitialMs?: number },
  tasksToReconcile?: () => { taskId: string; agentId: string }[],
) {
  const { destination, lines } = capturedLog();
  const c = new MesosSchedulerClient({
    master: address,
    framework: { name: 'toil', user: 'ubuntu', failoverTimeoutSeconds: 604800 },
    frameworkIdStore: new MemoryFrameworkIdStore(),
    clock: new RealClock(),
    log: createLogger({ level: 'info', destination }),
    ...timing,
  });
  c.start({
    subscribed: () => undefined,
    offers: () => undefined,
    rescind: () => undefined,
    update: () => undefined,
    ...(tasksToReconcile ? { tasksToReconcile } : {}),
  });
  await c.waitSubscribed(5000);
  return { c, lines };
}

t.test('calls before a subscription fail with a typed, retryable error', async (t) => {
  const c = client('127.0.0.1:1');
  await t.rejects(c.kill('T'), { code: 'MESOS_NOT_SUBSCRIBED' });
  await t.rejects(c.waitSubscribed(50), { code: 'MESOS_SUBSCRIBE_TIMEOUT' });
});

t.test(
  'a reconciliation the master refuses because the framework was torn down meanwhile is no warning',
  async (t) => {
    // The master holds the first RECONCILE until the TEARDOWN (a workflow that ended within a
    // second of its restart), then refuses it as Mesos does once the framework is gone.
    let held: http.ServerResponse | undefined;
    let reconciling: () => void = () => {};
    const reconcileSent = new Promise<void>((r) => (reconciling = r));
    const master = await fakeMaster(
      (_n, res) => send(res, subscribed('F-1')),
      (body, res) => {
        if (body.type === 'RECONCILE' && !held) {
          held = res;
          reconciling();
          return true;
        }
        if (body.type === 'TEARDOWN' && held) {
          held.writeHead(403, { 'Content-Type': 'text/plain' });
          held.end('Framework is not subscribed');
        }
        return false;
      },
    );
    t.teardown(() => master.close());
    const { c, lines } = await subscribedLoggingClient(master.address, { reconcileRetryMs: 10_000 }, () => [
      { taskId: 'T-1', agentId: 'A-1' },
    ]);
    await reconcileSent;
    await c.teardown();
    await new Promise((r) => setTimeout(r, 200));
    t.ok(held, 'the reconciliation was refused after the teardown');
    t.same(
      lines.filter((l) => l.msg === 'reconciliation call failed'),
      [],
      'no warning, no stack',
    );
  },
);

t.test(
  'the stream the master closes on TEARDOWN (a workflow that ended) is no warning and no re-subscription',
  async (t) => {
    // Mesos closes a framework's subscription as it tears it down, before it answers the call:
    // every run on Mesos ended with "WARNING Mesos subscription stream ended" and "re-subscribing".
    let stream: http.ServerResponse | undefined;
    const master = await fakeMaster(
      (_n, res) => {
        stream = res;
        send(res, subscribed('F-1'));
      },
      (body, res) => {
        if (body.type !== 'TEARDOWN') return false;
        stream?.end();
        setTimeout(() => {
          res.writeHead(202);
          res.end();
        }, 300);
        return true;
      },
    );
    t.teardown(() => master.close());
    const { c, lines } = await subscribedLoggingClient(master.address, { backoffInitialMs: 50 });
    await c.teardown();
    await new Promise((r) => setTimeout(r, 200));
    t.same(
      master.seen.map((s) => s.body.type).filter((type) => type === 'SUBSCRIBE' || type === 'TEARDOWN'),
      ['SUBSCRIBE', 'TEARDOWN'],
      'one subscription, then the teardown: no SUBSCRIBE after it',
    );
    t.same(
      lines.filter(
        (l) => l.msg === 'Mesos subscription stream ended' || l.msg === 're-subscribing to the Mesos master',
      ),
      [],
      'no warning of a stream that ended, no re-subscription',
    );
  },
);
