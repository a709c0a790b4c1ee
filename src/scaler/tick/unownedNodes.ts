import type { ObservedNode } from './clusterView.js';

/**
 * Worker instances of the cluster this leader did not launch. They are static to the policy
 * (never retired unless `scaler.retireStaticNodes`): a `launch-cluster --workers` node is meant to
 * stay, and a node another live leader launched is that leader's to retire. But a leader killed
 * with -9 and never resumed leaves its nodes looking the same, running and billing with nothing
 * to retire them. Instances carry no mark of the leader that launched them, nor of whether it
 * lives, so a leader cannot tell these apart and must not terminate them; it says so instead,
 * once per instance, with what they cost and the ways out.
 */
export function unownedNodes(nodes: readonly ObservedNode[]): ObservedNode[] {
  return nodes.filter((n) => n.static === true);
}

function describe(n: ObservedNode, now: number): string {
  return (
    `${n.id} (${n.instanceType} ${n.capacityType}, up ${Math.round(Math.max(0, now - n.launchedAt) / 60_000)} min, ` +
    `$${n.pricePerHour.toFixed(4)}/h)`
  );
}

/** Why they are kept and how to end them: one line for the log and the status page. */
export function unownedReason(nodes: readonly ObservedNode[], retireStaticNodes: boolean): string {
  if (retireStaticNodes)
    return 'scaler.retireStaticNodes is true: each is retired once idle, as a node of this leader';
  const ids = nodes.map((n) => n.id).join(' ');
  return (
    'not retired: this leader did not launch them (static; scaler.retireStaticNodes is false), and ' +
    'nothing on an instance says whether the leader that launched it still runs. If they were left by a ' +
    'leader that is gone (a toil run --provisioner aws or a toil leader killed with -9): resume it ' +
    "(toil run … --restart on its job store — 'toil status JOBSTORE' of that store names its nodes — " +
    'or start that toil leader again on its state), which adopts and retires them; or terminate them ' +
    `(aws ec2 terminate-instances --instance-ids ${ids}); or set scaler.retireStaticNodes: true to retire ` +
    'them here once idle. Nodes of launch-cluster --workers are meant to stay'
  );
}

/** The warning logged once for instances not warned of before. */
export function unownedWarning(
  fresh: readonly ObservedNode[],
  all: readonly ObservedNode[],
  now: number,
  retireStaticNodes: boolean,
): string {
  const perHour = all.reduce((s, n) => s + n.pricePerHour, 0);
  return (
    `the cluster has ${all.length} worker instance(s) this leader did not launch ($${perHour.toFixed(4)}/h): ` +
    `${fresh.map((n) => describe(n, now)).join(', ')}` +
    (fresh.length < all.length ? ` (and ${all.length - fresh.length} told of before)` : '') +
    `; ${unownedReason(fresh, retireStaticNodes)}`
  );
}
