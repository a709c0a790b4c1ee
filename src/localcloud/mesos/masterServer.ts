/**
 * The local Mesos master's HTTP face: the public endpoints with Mesos' own checks, in Mesos'
 * order, and its status codes and text/plain error bodies (mesos.md §0–§3), plus a private
 * agent↔master protocol under `/internal/agent/*` (ours, not Mesos'; see docs/mesos.md).
 */
import http from 'node:http';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { RealClock, type Clock } from '../../common/clock.js';
import { silentLogger, type Logger } from '../../common/log.js';
import { parseMesosJson, stringifyMesosJson, toBigInt, toNumber } from '../../mesos/json.js';
import { encodeRecord } from '../../mesos/recordio.js';
import type { FrameworkInfo, TaskInfo, TaskState, TaskStatus } from '../../mesos/types.js';
import { MasterModel, OperatorCallError, type EventSink, type FrameworkRecord } from './masterModel.js';
import { getAgentsJson, slavesJson, stateJson, stateSummaryJson, versionJson } from './masterViews.js';

export interface MesosMasterOptions {
  port?: number;
  /** Address to listen on; also the advertised hostname unless `hostname` is given. */
  host?: string;
  hostname?: string;
  clock?: Clock;
  log?: Logger;
  version?: string;
  /** Real Mesos hard-codes 15 s; shorter only for tests. */
  heartbeatIntervalSeconds?: number;
  allocationIntervalMs?: number;
  /** Agent health: unreachable after `agentPingTimeoutMs × maxAgentPingTimeouts` of silence (Mesos: 15 s × 5). */
  agentPingTimeoutMs?: number;
  maxAgentPingTimeouts?: number;
  agentReregisterTimeoutMs?: number;
  defaultKillGraceMs?: number;
  /** A file where agents are recorded, so a restarted master knows them (Mesos' registry). */
  registryPath?: string;
  /** Write each stream record in two pieces (chunk boundaries ≠ record boundaries). Default true. */
  splitRecords?: boolean;
}

export interface MesosMasterHandle {
  /** `http://host:port` */
  readonly url: string;
  /** `host:port`, as `--mesosMaster` takes it. */
  readonly address: string;
  readonly port: number;
  readonly model: MasterModel;
  /** Make this master a non-leader redirecting to `leader` (`host:port`), or leaderless (`null`), or the leader again (`undefined`). */
  setLeader(leader: string | null | undefined): void;
  stop(): Promise<void>;
}

interface Ctx {
  model: MasterModel;
  leader: string | null | undefined;
  splitRecords: boolean;
  flags: Record<string, string>;
  log: Logger;
  sinks: Set<EventSink>;
}

class StreamSink implements EventSink {
  closed = false;
  private splitCounter = 0;
  private readonly res: http.ServerResponse;
  private readonly split: boolean;

  constructor(res: http.ServerResponse, split: boolean) {
    this.res = res;
    this.split = split;
    res.on('close', () => (this.closed = true));
  }

  send(event: unknown): void {
    if (this.closed) return;
    const framed = encodeRecord(stringifyMesosJson(event));
    if (this.split && framed.length > 8) {
      // Cut at a varying place (inside the length line, or the payload) so readers must reassemble.
      const cut = 1 + ((this.splitCounter++ * 7919) % (framed.length - 1));
      this.res.write(framed.subarray(0, cut));
      this.res.write(framed.subarray(cut));
    } else this.res.write(framed);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.res.end();
  }
}

export async function startMesosMaster(options: MesosMasterOptions = {}): Promise<MesosMasterHandle> {
  const host = options.host ?? '127.0.0.1';
  const clock = options.clock ?? new RealClock();
  const log = (options.log ?? silentLogger()).child({ component: 'localcloud-mesos-master' });
  const server = http.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const hostname = options.hostname ?? host;
  const config = {
    hostname,
    port,
    clock,
    log,
    version: options.version ?? '1.11.0',
    heartbeatIntervalSeconds: options.heartbeatIntervalSeconds ?? 15,
    allocationIntervalMs: options.allocationIntervalMs ?? 1000,
    agentPingTimeoutMs: options.agentPingTimeoutMs ?? 15_000,
    maxAgentPingTimeouts: options.maxAgentPingTimeouts ?? 5,
    agentReregisterTimeoutMs: options.agentReregisterTimeoutMs ?? 600_000,
    defaultKillGraceMs: options.defaultKillGraceMs ?? 3000,
    ...(options.registryPath ? { registryPath: options.registryPath } : {}),
  };
  const model = new MasterModel(config);
  const ctx: Ctx = {
    model,
    leader: undefined,
    splitRecords: options.splitRecords ?? true,
    flags: {
      allocation_interval: `${config.allocationIntervalMs}ms`,
      agent_ping_timeout: `${config.agentPingTimeoutMs}ms`,
      max_agent_ping_timeouts: String(config.maxAgentPingTimeouts),
      agent_reregister_timeout: `${config.agentReregisterTimeoutMs}ms`,
      hostname,
      port: String(port),
    },
    log,
    sinks: new Set(),
  };
  server.on('request', (req, res) => {
    handle(ctx, req, res).catch((e: unknown) => {
      log.error({ err: e }, 'request failed');
      if (!res.headersSent) text(res, 500, String((e as Error).message));
      else res.destroy();
    });
  });
  const stop = new AbortController();
  const loop = (async () => {
    while (!stop.signal.aborted) {
      try {
        model.tick();
      } catch (e) {
        log.error({ err: e }, 'master tick failed');
      }
      try {
        await clock.sleep(config.allocationIntervalMs, stop.signal);
      } catch {
        return;
      }
    }
  })();
  log.info({ port, masterId: model.id }, 'local Mesos master listening');
  return {
    url: `http://${host}:${port}`,
    address: `${host}:${port}`,
    port,
    model,
    setLeader(leader) {
      ctx.leader = leader;
    },
    async stop() {
      model.stopped = true;
      stop.abort();
      await loop;
      for (const fw of model.frameworks.values()) fw.failoverTimer?.abort();
      for (const s of ctx.sinks) s.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function text(
  res: http.ServerResponse,
  status: number,
  body = '',
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', ...headers });
  res.end(body);
}

function json(res: http.ServerResponse, status: number, value: unknown): void {
  const body = stringifyMesosJson(value);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

async function readBody(req: http.IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** `/master/state` → `/state`; trailing slash stripped (libprocess routing). */
function canonicalPath(pathname: string): string {
  let p = pathname.replace(/\/+$/, '') || '/';
  if (p === '/master') return '/';
  if (p.startsWith('/master/')) p = p.slice('/master'.length);
  return p;
}

async function handle(ctx: Ctx, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://local');
  const path = canonicalPath(url.pathname);
  const m = ctx.model;

  if (path.startsWith('/internal/agent/')) return handleAgent(ctx, path, req, res);
  if (path === '/version') return json(res, 200, versionJson(m));

  // Leader redirect first, for every endpoint (mesos.md §2.2), Location protocol-relative.
  if (path === '/redirect') {
    if (ctx.leader === null) return text(res, 503, 'No leader elected');
    const to = ctx.leader ?? `${m.config.hostname}:${m.config.port}`;
    return text(res, 307, '', { Location: `//${to}` });
  }
  if (path.startsWith('/redirect/')) return text(res, 404);
  if (ctx.leader === null) return text(res, 503, 'No leader elected');
  if (ctx.leader !== undefined) {
    return text(res, 307, '', { Location: `//${ctx.leader}/master${path}${url.search}` });
  }

  switch (path) {
    case '/health':
      return text(res, 200);
    case '/state':
      return json(res, 200, stateJson(m, ctx.flags));
    case '/state-summary':
      return json(res, 200, stateSummaryJson(m));
    case '/slaves':
      return json(res, 200, slavesJson(m, url.searchParams.get('slave_id') ?? undefined));
    case '/api/v1':
      return handleOperator(ctx, req, res);
    case '/api/v1/scheduler':
      return handleScheduler(ctx, req, res);
    default:
      return text(res, 404);
  }
}

/** Rows 3–6 of mesos.md §2.1, shared by both APIs. Returns the parsed call, or undefined if answered. */
async function readCall(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  kind: string,
): Promise<Record<string, unknown> | undefined> {
  if (req.method !== 'POST') {
    text(res, 405, `405 Method Not Allowed. Expecting one of { 'POST' }, but received '${req.method}'.`, {
      Allow: 'POST',
    });
    return undefined;
  }
  const contentType = req.headers['content-type'];
  if (contentType === undefined) {
    text(res, 400, "Expecting 'Content-Type' to be present");
    return undefined;
  }
  // Compared byte for byte: `application/json; charset=utf-8` is not JSON to Mesos.
  if (contentType !== 'application/json') {
    text(
      res,
      415,
      contentType === 'application/x-protobuf'
        ? 'This local master speaks JSON only'
        : "Expecting 'Content-Type' of application/json or application/x-protobuf",
    );
    return undefined;
  }
  const body = await readBody(req);
  let call: unknown;
  try {
    call = parseMesosJson(body);
  } catch (e) {
    text(res, 400, `Failed to parse body into JSON: ${(e as Error).message}`);
    return undefined;
  }
  if (typeof call !== 'object' || call === null || Array.isArray(call)) {
    text(res, 400, `Failed to convert JSON into Call protobuf: Expecting a JSON object`);
    return undefined;
  }
  const type = (call as Record<string, unknown>)['type'];
  if (typeof type !== 'string' || type === '') {
    text(res, 400, `Failed to validate ${kind}::Call: Expecting 'type' to be present`);
    return undefined;
  }
  return call as Record<string, unknown>;
}

function acceptsJson(req: http.IncomingMessage): boolean {
  const accept = req.headers.accept;
  if (!accept) return true;
  return accept.split(',').some((a) => {
    const t = a.split(';')[0]!.trim();
    return t === '*/*' || t === 'application/*' || t === 'application/json';
  });
}

function payloadOf(call: Record<string, unknown>): Record<string, unknown> | undefined {
  const key = String(call['type']).toLowerCase();
  const p = call[key];
  return typeof p === 'object' && p !== null ? (p as Record<string, unknown>) : undefined;
}

function valueOf(v: unknown): string | undefined {
  const s = (v as { value?: unknown } | undefined)?.value;
  return typeof s === 'string' ? s : undefined;
}

async function handleOperator(ctx: Ctx, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const call = await readCall(req, res, 'master');
  if (!call) return;
  const type = String(call['type']);
  const payload = payloadOf(call);
  const needsPayload = ['DRAIN_AGENT', 'DEACTIVATE_AGENT', 'REACTIVATE_AGENT', 'MARK_AGENT_GONE'];
  if (needsPayload.includes(type) && !payload) {
    return text(res, 400, `Failed to validate master::Call: Expecting '${type.toLowerCase()}' to be present`);
  }
  if (!acceptsJson(req))
    return text(res, 406, "Expecting 'Accept' to allow 'application/x-protobuf' or 'application/json'");
  const m = ctx.model;
  const agentId = valueOf(payload?.['agent_id']);
  if (needsPayload.includes(type) && !agentId) {
    return text(
      res,
      400,
      `Failed to convert JSON into Call protobuf: Missing required fields: ${type.toLowerCase()}.agent_id`,
    );
  }
  try {
    switch (type) {
      case 'GET_AGENTS':
        return json(res, 200, getAgentsJson(m));
      case 'GET_VERSION':
        return json(res, 200, { type, get_version: { version_info: versionJson(m) } });
      case 'GET_HEALTH':
        return json(res, 200, { type, get_health: { healthy: true } });
      case 'DRAIN_AGENT': {
        const grace = payload!['max_grace_period'];
        if (typeof grace === 'string') {
          return text(
            res,
            400,
            "Failed to convert JSON into Call protobuf: Not expecting a JSON string for field 'max_grace_period'",
          );
        }
        let graceNs: bigint | undefined;
        if (grace && typeof grace === 'object') {
          const g = grace as { seconds?: unknown; nanos?: unknown };
          graceNs = (toBigInt(g.seconds) ?? 0n) * 1_000_000_000n + (toBigInt(g.nanos) ?? 0n);
        }
        const markGone = payload!['mark_gone'] === true || payload!['mark_gone'] === 'true';
        m.drainAgent(agentId!, graceNs, markGone);
        return text(res, 200);
      }
      case 'DEACTIVATE_AGENT':
        m.deactivateAgent(agentId!);
        return text(res, 200);
      case 'REACTIVATE_AGENT':
        m.reactivateAgent(agentId!);
        return text(res, 200);
      case 'MARK_AGENT_GONE':
        m.markGone(agentId!);
        return text(res, 200);
      case 'TEARDOWN': {
        // Mesos' Master::Http::teardown: a registered framework, connected or not; a removed or
        // unknown one is a 400.
        const frameworkId = valueOf(payload?.['framework_id']);
        if (!frameworkId)
          return text(
            res,
            400,
            'Failed to convert JSON into Call protobuf: Missing required fields: teardown.framework_id',
          );
        const fw = m.frameworkFor(frameworkId);
        if (!fw) return text(res, 400, 'No framework found with specified ID');
        m.removeFramework(fw);
        return text(res, 200);
      }
      case 'UNKNOWN':
        return text(res, 501);
      default:
        return text(res, 501, `'${type}' is not implemented by this local master`);
    }
  } catch (e) {
    if (e instanceof OperatorCallError) return text(res, e.status, e.message);
    throw e;
  }
}

const PAYLOAD_REQUIRED = new Set([
  'ACCEPT',
  'DECLINE',
  'KILL',
  'ACKNOWLEDGE',
  'RECONCILE',
  'SHUTDOWN',
  'MESSAGE',
]);

async function handleScheduler(ctx: Ctx, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const call = await readCall(req, res, 'scheduler');
  if (!call) return;
  const m = ctx.model;
  const type = String(call['type']);
  const topFrameworkId = valueOf(call['framework_id']);

  if (type === 'SUBSCRIBE') {
    const sub = payloadOf(call);
    if (!sub)
      return text(res, 400, "Failed to validate scheduler::Call: Expecting 'subscribe' to be present");
    const info = sub['framework_info'] as FrameworkInfo | undefined;
    const missing = ['user', 'name'].filter(
      (k) => typeof (info as Record<string, unknown> | undefined)?.[k] !== 'string',
    );
    if (!info || missing.length > 0) {
      const fields = info
        ? missing.map((k) => `subscribe.framework_info.${k}`)
        : ['subscribe.framework_info'];
      return text(
        res,
        400,
        `Failed to convert JSON into Call protobuf: Missing required fields: ${fields.join(', ')}`,
      );
    }
    if (topFrameworkId !== info.id?.value) {
      return text(
        res,
        400,
        "Failed to validate scheduler::Call: 'framework_id' differs from 'subscribe.framework_info.id'",
      );
    }
    if (req.headers['mesos-stream-id'] !== undefined) {
      return text(res, 400, "Subscribe calls should not include the 'Mesos-Stream-Id' header");
    }
    if (!acceptsJson(req))
      return text(res, 406, "Expecting 'Accept' to allow 'application/x-protobuf' or 'application/json'");
    const failover = toNumber(info.failover_timeout);
    const normalized: FrameworkInfo = {
      ...info,
      ...(failover !== undefined ? { failover_timeout: failover } : {}),
    };
    const streamId = randomUUID();
    res.writeHead(200, { 'Content-Type': 'application/json', 'Mesos-Stream-Id': streamId });
    res.flushHeaders();
    const sink = new StreamSink(res, ctx.splitRecords);
    ctx.sinks.add(sink);
    const result = m.subscribe(normalized, sink, streamId);
    if (typeof result === 'string') {
      sink.send({ type: 'ERROR', error: { message: result } });
      sink.close();
      ctx.sinks.delete(sink);
      return;
    }
    const fw: FrameworkRecord = result;
    const heartbeats = new AbortController();
    res.on('close', () => {
      heartbeats.abort();
      ctx.sinks.delete(sink);
      m.frameworkDisconnected(fw.id, sink);
    });
    void (async () => {
      const clock = m.config.clock;
      for (;;) {
        try {
          await clock.sleep(m.config.heartbeatIntervalSeconds * 1000, heartbeats.signal);
        } catch {
          return;
        }
        sink.send({ type: 'HEARTBEAT' });
      }
    })();
    return;
  }

  const payload = payloadOf(call);
  if (!topFrameworkId)
    return text(res, 400, "Failed to validate scheduler::Call: Expecting 'framework_id' to be present");
  if (PAYLOAD_REQUIRED.has(type) && !payload) {
    return text(
      res,
      400,
      `Failed to validate scheduler::Call: Expecting '${type.toLowerCase()}' to be present`,
    );
  }
  if (type === 'ACKNOWLEDGE') {
    const uuid = payload!['uuid'];
    if (typeof uuid !== 'string' || Buffer.from(uuid, 'base64').length !== 16) {
      return text(res, 400, 'Failed to validate scheduler::Call: Not a valid UUID');
    }
  }
  const fw = m.frameworkFor(topFrameworkId);
  if (!fw) return text(res, 400, 'Framework cannot be found');
  if (!fw.connected) return text(res, 403, 'Framework is not subscribed');
  const streamId = req.headers['mesos-stream-id'];
  if (streamId === undefined)
    return text(res, 400, "All non-subscribe calls should include the 'Mesos-Stream-Id' header");
  if (streamId !== fw.streamId) {
    return text(
      res,
      400,
      `The stream ID '${String(streamId)}' included in this request didn't match the stream ID currently associated with framework ID ${fw.id}`,
    );
  }
  const refuse = (p: Record<string, unknown> | undefined): number | undefined =>
    toNumber((p?.['filters'] as { refuse_seconds?: unknown } | undefined)?.refuse_seconds);
  const ids = (list: unknown): string[] =>
    Array.isArray(list) ? list.map(valueOf).filter((v): v is string => !!v) : [];
  switch (type) {
    case 'ACCEPT':
      text(res, 202);
      m.accept(
        fw,
        ids(payload!['offer_ids']),
        (payload!['operations'] as { type?: string; launch?: { task_infos?: TaskInfo[] } }[]) ?? [],
        refuse(payload),
      );
      return;
    case 'DECLINE':
      text(res, 202);
      m.decline(fw, ids(payload!['offer_ids']), refuse(payload));
      return;
    case 'KILL': {
      text(res, 202);
      const policy = payload!['kill_policy'] as { grace_period?: { nanoseconds?: unknown } } | undefined;
      m.kill(
        fw,
        valueOf(payload!['task_id']) ?? '',
        valueOf(payload!['agent_id']),
        toBigInt(policy?.grace_period?.nanoseconds),
      );
      return;
    }
    case 'ACKNOWLEDGE':
      text(res, 202);
      m.acknowledge(
        fw,
        valueOf(payload!['agent_id']) ?? '',
        valueOf(payload!['task_id']) ?? '',
        String(payload!['uuid']),
      );
      return;
    case 'RECONCILE': {
      text(res, 202);
      const tasks = ((payload!['tasks'] as unknown[]) ?? []).map((t) => {
        const agentId = valueOf((t as Record<string, unknown>)['agent_id']);
        return {
          taskId: valueOf((t as Record<string, unknown>)['task_id']) ?? '',
          ...(agentId ? { agentId } : {}),
        };
      });
      m.reconcile(fw, tasks);
      return;
    }
    case 'SUPPRESS':
      text(res, 202);
      m.suppress(fw);
      return;
    case 'REVIVE':
      text(res, 202);
      m.revive(fw);
      return;
    case 'TEARDOWN':
      text(res, 202);
      m.removeFramework(fw);
      return;
    case 'MESSAGE':
    case 'SHUTDOWN':
    case 'REQUEST':
    case 'ACCEPT_INVERSE_OFFERS':
    case 'DECLINE_INVERSE_OFFERS':
      return text(res, 202);
    default:
      return text(res, 501);
  }
}

/** The private agent↔master protocol (not Mesos'): register (a RecordIO stream of commands), status, ping. */
async function handleAgent(
  ctx: Ctx,
  path: string,
  req: http.IncomingMessage,
  res: http.ServerResponse,
): Promise<void> {
  if (ctx.leader !== undefined) return text(res, 503, 'Not the leading master');
  const body = (req.method === 'POST' ? parseMesosJson(await readBody(req)) : {}) as Record<string, unknown>;
  const m = ctx.model;
  switch (path) {
    case '/internal/agent/register': {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.flushHeaders();
      const sink = new StreamSink(res, false);
      ctx.sinks.add(sink);
      const agent = m.registerAgent(body as unknown as Parameters<MasterModel['registerAgent']>[0], sink);
      if (!agent) return;
      res.on('close', () => {
        ctx.sinks.delete(sink);
        m.agentDisconnected(agent.id, sink);
      });
      return;
    }
    case '/internal/agent/status': {
      const fwId = String(body['framework_id']);
      if (body['status'] === undefined) {
        m.agentLatestState(
          String(body['agent_id']),
          fwId,
          String(body['task_id']),
          body['latest_state'] as TaskState,
        );
      } else {
        m.agentStatusUpdate(
          String(body['agent_id']),
          fwId,
          body['status'] as TaskStatus,
          body['latest_state'] as TaskState,
        );
      }
      // Tell the agent to stop retrying updates nobody will ever acknowledge.
      return json(res, 200, { drop: m.removedFrameworkIds.has(fwId) });
    }
    case '/internal/agent/ping':
      return json(res, 200, { known: m.agentPing(String(body['agent_id'])) });
    default:
      return text(res, 404);
  }
}
