import { formatDuration } from '../../common/units.js';
import { pastBootTimeout } from '../types.js';
import type { ObservedNode } from './clusterView.js';
import type { ForeignMark } from './deadLeaders.js';
import type { PriceSource } from './nodePrice.js';

/**
 * Worker instances of the cluster this leader did not launch. They are static to the policy
 * (never retired unless `scaler.retireStaticNodes`): a `launch-cluster --workers` node is meant to
 * stay, and a node another live leader launched is that leader's to retire. A node whose leader's
 * heartbeat stopped is retired before this (deadLeaders.ts); what is left here is kept, and said
 * so once per instance, with what they cost, why they are kept and the ways out.
 */
export function unownedNodes(nodes: readonly ObservedNode[]): ObservedNode[] {
  return nodes.filter((n) => n.static === true && n.staticWorker !== true);
}

/** The workers `launch-cluster --workers` started (tagged so): the cluster's own static capacity. */
export function staticWorkers(nodes: readonly ObservedNode[]): ObservedNode[] {
  return nodes.filter((n) => n.static === true && n.staticWorker === true);
}

/**
 * Static instances (not launched by this leader) whose agent has not registered bootTimeout after
 * their launch. The policy keeps them, as it keeps all static capacity, and plans no work onto them.
 */
export function staticNeverRegistered(
  nodes: readonly ObservedNode[],
  now: number,
  bootTimeoutSeconds: number,
): ObservedNode[] {
  return nodes.filter((n) => n.static === true && pastBootTimeout(n, now, bootTimeoutSeconds));
}

/** The warning logged once for static instances that never registered. */
export function staticNeverRegisteredWarning(
  fresh: readonly ObservedNode[],
  now: number,
  bootTimeoutSeconds: number,
): string {
  return (
    `${fresh.length} static instance(s) this leader did not launch never registered as agents within ` +
    `bootTimeout ${formatDuration(bootTimeoutSeconds * 1000)}: ${fresh.map((n) => describe(n, now)).join(', ')}; ` +
    "kept (static capacity is not the scaler's to terminate) but no work is planned onto them, so they bill " +
    'for nothing until their agent joins: look at their boot (toil ssh-cluster, the instance console), or ' +
    `terminate them (aws ec2 terminate-instances --instance-ids ${fresh.map((n) => n.id).join(' ')}); ` +
    'scaler.retireStaticNodes: true terminates them after bootTimeout'
  );
}

/** The line logged once (INFO) for static workers not told of before: what they are and cost. */
export function staticWorkersNotice(
  fresh: readonly ObservedNode[],
  now: number,
  retireStaticNodes: boolean,
): string {
  return (
    `${fresh.length} static worker(s) of launch-cluster --workers: ${fresh.map((n) => describe(n, now)).join(', ')}; ` +
    (retireStaticNodes
      ? 'scaler.retireStaticNodes is true: each is retired once idle, as a node of this leader'
      : "counted as the cluster's capacity and kept, as launched (scaler.retireStaticNodes: true retires them once idle)")
  );
}

const PRICED_BY: Readonly<Record<PriceSource, string>> = {
  launched: '',
  config: '',
  'spot-market': ' on the spot market',
  'on-demand': ' on demand',
  unknown: '',
};

function describe(n: ObservedNode, now: number): string {
  // A type the catalogue does not price is not free: said so, rather than $0.0000/h.
  const price =
    n.priceSource === 'unknown'
      ? `price not known: ${n.instanceType} is in neither the configured node types nor the instance catalogue, so its cost is not counted`
      : `$${n.pricePerHour.toFixed(4)}/h${PRICED_BY[n.priceSource]}`;
  return `${n.id} (${n.instanceType} ${n.capacityType}, up ${Math.round(Math.max(0, now - n.launchedAt) / 60_000)} min, ${price})`;
}

/** Why they are kept and how to end them: one line for the log and the status page. */
export function unownedReason(
  nodes: readonly ObservedNode[],
  retireStaticNodes: boolean,
  marks: ReadonlyMap<string, ForeignMark> = new Map(),
  now = 0,
): string {
  if (retireStaticNodes)
    return 'scaler.retireStaticNodes is true: each is retired once idle, as a node of this leader';
  const ids = nodes.map((n) => n.id).join(' ');
  return (
    'not retired: this leader did not launch them (static; scaler.retireStaticNodes is false); ' +
    `${markClause(nodes, marks, now)}. If they were left by a ` +
    'leader that is gone (a toil run --provisioner aws or a toil leader killed with -9): resume it ' +
    "(toil run … --restart on its job store — 'toil status JOBSTORE' of that store names its nodes — " +
    'or start that toil leader again on its state), which adopts and retires them; or terminate them ' +
    `(aws ec2 terminate-instances --instance-ids ${ids}); or set scaler.retireStaticNodes: true to retire ` +
    'them here once idle. Nodes of launch-cluster --workers are meant to stay'
  );
}

/** What the leader mark on each instance says (why it is not retired as a dead leader's). */
function markClause(
  nodes: readonly ObservedNode[],
  marks: ReadonlyMap<string, ForeignMark>,
  now: number,
): string {
  const parts: string[] = [];
  const unmarked = nodes.filter((n) => (marks.get(n.id)?.kind ?? 'unmarked') === 'unmarked');
  if (unmarked.length > 0)
    parts.push(
      `${unmarked.map((n) => n.id).join(' ')}: no leader mark (launched by launch-cluster --workers, by a leader ` +
        'of an older version, or by one that may not tag its instances), so nothing says whether its leader ' +
        'still runs: never retired automatically',
    );
  for (const n of nodes) {
    const m = marks.get(n.id);
    if (!m || m.kind === 'unmarked') continue;
    const ago = Math.round(Math.max(0, now - m.beat.at) / 1000);
    if (m.kind === 'kept') {
      parts.push(
        `${n.id}: its leader ${m.beat.leaderId} stopped ${ago} s ago and kept it on purpose (--keepNodes, ` +
          'shutdown.releaseNodes: false), for itself when started again: never retired automatically',
      );
      continue;
    }
    parts.push(
      m.kind === 'live'
        ? `${n.id}: its leader ${m.beat.leaderId} beat ${ago} s ago, so it lives and the instance is its own ` +
            `(retired here only if that leader stops beating, from ${new Date(m.staleAt).toISOString()})`
        : `${n.id}: its leader ${m.beat.leaderId} stopped beating (last beat ${ago} s ago), and ` +
            'tick.retireDeadLeadersNodes is false',
    );
  }
  return parts.join('; ');
}

/** The warning logged once for instances not warned of before. */
export function unownedWarning(
  fresh: readonly ObservedNode[],
  all: readonly ObservedNode[],
  now: number,
  retireStaticNodes: boolean,
  marks: ReadonlyMap<string, ForeignMark> = new Map(),
): string {
  const perHour = all.reduce((s, n) => s + n.pricePerHour, 0);
  return (
    `the cluster has ${all.length} worker instance(s) this leader did not launch ($${perHour.toFixed(4)}/h): ` +
    `${fresh.map((n) => describe(n, now)).join(', ')}` +
    (fresh.length < all.length ? ` (and ${all.length - fresh.length} told of before)` : '') +
    `; ${unownedReason(fresh, retireStaticNodes, marks, now)}`
  );
}
