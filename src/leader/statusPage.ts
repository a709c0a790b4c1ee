import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import { createRequire } from 'node:module';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TickReport } from '../scaler/tick/report.js';
import type { ObservedNode } from '../scaler/tick/clusterView.js';
import { unownedReason } from '../scaler/tick/unownedNodes.js';
import { BOOT_FAILURE_HINT, CLUSTER, type BootBackoffView } from '../scaler/cost/bootBackoff.js';
import type { ForeignMark } from '../scaler/tick/deadLeaders.js';
import type { StatusHistory } from './statusHistory.js';

/** The page's files: `static/status/` of the package root (this file is in src/leader or dist/src/leader). */
function pageDir(): string {
  const src = dirname(dirname(fileURLToPath(import.meta.url)));
  const root = basename(dirname(src)) === 'dist' ? dirname(dirname(src)) : dirname(src);
  return join(root, 'static', 'status');
}

/** uPlot's browser build, served as it ships. */
function uplotDir(): string {
  return join(dirname(createRequire(import.meta.url).resolve('uplot/package.json')), 'dist');
}

/**
 * The status page: `/` (HTML, script and styles from static/status, uPlot from its package) and
 * `/status/history`, the samples it plots (`?since=ISO` for the newer ones). The page reads
 * `/status` and the history every few seconds and redraws in place.
 */
export function registerStatusPage(app: FastifyInstance, history: StatusHistory): void {
  // Registered, not awaited: fastify loads plugins in order before it listens.
  void app.register(fastifyStatic, { root: pageDir(), prefix: '/', index: 'index.html' });
  void app.register(fastifyStatic, { root: uplotDir(), prefix: '/assets/uplot/', decorateReply: false });
  app.get('/status/history', async (req, reply) => {
    const given = (req.query as { since?: string }).since;
    const since = given === undefined ? undefined : Date.parse(given);
    // A time that does not parse was taken for none: every sample came back, as if asked for.
    if (since !== undefined && Number.isNaN(since))
      return reply.code(400).send({
        error: `since ${given}: expected an ISO 8601 time (e.g. 2026-05-01T10:00:00Z), the samples at and after it`,
      });
    return history.samples(since).map((s) => ({
      ...s,
      at: new Date(s.at).toISOString(),
      hourlyCost: hourlyRate(s.hourlyCost),
      costDollars: cents(s.costDollars),
    }));
  });
}

/** Money as people read it: dollars rounded to cents. */
export function cents(dollars: number): number {
  return Math.round(dollars * 100) / 100;
}

/**
 * A price per hour as EC2 quotes it, to the hundredth of a cent: a $0.0031/h spot node rounded to
 * cents would read $0.00/h, and a $0.0155/h one $0.02/h.
 */
export function hourlyRate(dollarsPerHour: number): number {
  return Math.round(dollarsPerHour * 10_000) / 10_000;
}

/** One line of the page's "recent decisions": what a tick decided, and why. */
export interface Decision {
  readonly at: string;
  readonly kind:
    | 'launch'
    | 'drain'
    | 'undrain'
    | 'terminate'
    | 'waiting'
    | 'unschedulable'
    | 'error'
    | 'kept'
    | 'retired'
    | 'gone';
  readonly what: string;
  readonly reason: string;
}

/**
 * The standing decision about the cluster's worker instances this leader did not launch: kept,
 * with why and how to retire them (first in the list while they run).
 */
export function unownedDecision(
  nodes: readonly ObservedNode[],
  at: number | undefined,
  retireStaticNodes: boolean,
  marks: ReadonlyMap<string, ForeignMark> = new Map(),
): Decision[] {
  if (nodes.length === 0 || at === undefined) return [];
  const perHour = nodes.reduce((s, n) => s + n.pricePerHour, 0);
  return [
    {
      at: new Date(at).toISOString(),
      kind: 'kept',
      what: `${nodes.length} worker instance(s) this leader did not launch ($${perHour.toFixed(4)}/h): ${nodes.map((n) => n.id).join(' ')}`,
      reason: unownedReason(nodes, retireStaticNodes, marks, at),
    },
  ];
}

/**
 * The standing decision while nodes that never registered hold launches back: first in the list
 * until the backoff ends, since the ticks' own lines scroll away while the cluster stays empty.
 */
export function bootBackoffDecision(views: readonly BootBackoffView[], at: number | undefined): Decision[] {
  const held = views.filter((v) => v.backedOffUntil !== undefined);
  if (held.length === 0 || at === undefined) return [];
  const until = (v: BootBackoffView): string => new Date(v.backedOffUntil!).toISOString();
  // The cluster's backoff holds back every launch: the offerings' own say nothing more.
  const cluster = held.find((v) => v.offering === CLUSTER);
  const [what, reason] = cluster
    ? [
        `no node is launched until ${until(cluster)}`,
        `${cluster.neverRegisteredInARow} nodes in a row booted and never registered within bootTimeout`,
      ]
    : [
        `no node of ${held.map((v) => `${v.offering} until ${until(v)}`).join(', ')} is launched`,
        held
          .map((v) => `${v.neverRegisteredInARow} nodes of ${v.offering} in a row`)
          .join(', ')
          .concat(' booted and never registered within bootTimeout'),
      ];
  return [
    {
      at: new Date(at).toISOString(),
      kind: 'waiting',
      what: `launches held back: ${what}`,
      reason: `${reason}; ${BOOT_FAILURE_HINT}`,
    },
  ];
}

/** The instances of gone leaders this leader retired, newest first. */
export function retiredDecisions(
  retired: readonly {
    id: string;
    instanceType: string;
    market: string;
    pricePerHour: number;
    at: number;
    reason: string;
  }[],
): Decision[] {
  return [...retired].reverse().map((r) => ({
    at: new Date(r.at).toISOString(),
    kind: 'retired' as const,
    what: `${r.id} (${r.instanceType} ${r.market}, $${r.pricePerHour.toFixed(4)}/h)`,
    reason: r.reason,
  }));
}

/** The decisions of one tick's plan (and its errors), for people. */
export function decisionsOf(r: TickReport): Decision[] {
  const at = new Date(r.at).toISOString();
  const p = r.plan;
  return [
    ...p.launch.map((l) => ({
      at,
      kind: 'launch' as const,
      what: `${l.count}× ${l.instanceType} ${l.capacityType} in ${l.zone} at $${l.pricePerHour.toFixed(4)}/h`,
      reason: l.reason,
    })),
    ...p.drain.map((d) => ({ at, kind: 'drain' as const, what: d.nodeId, reason: d.reason })),
    ...p.undrain.map((d) => ({ at, kind: 'undrain' as const, what: d.nodeId, reason: d.reason })),
    ...p.terminate.map((d) => ({ at, kind: 'terminate' as const, what: d.nodeId, reason: d.reason })),
    ...(r.stopped ?? []).map((d) => ({ at, kind: 'terminate' as const, what: d.nodeId, reason: d.reason })),
    ...(r.gone ?? []).map((d) => ({ at, kind: 'gone' as const, what: d.nodeId, reason: d.reason })),
    ...p.waiting.map((w) => ({
      at,
      kind: 'waiting' as const,
      what: `${w.count} × ${w.jobName}`,
      reason: w.reason,
    })),
    ...p.unschedulable.map((u) => ({
      at,
      kind: 'unschedulable' as const,
      what: `${u.count} × ${u.jobName}`,
      reason: u.message,
    })),
    ...r.errors.map((e) => ({
      at,
      kind: 'error' as const,
      what: e.action,
      reason: `${e.code}: ${e.message}`,
    })),
  ];
}
