import { namedUpTo } from '../../common/namedUpTo.js';

/**
 * How far a `toil destroy-cluster` got, kept up to date as it goes: one stopped by Ctrl-C says in
 * one line what it had done and what may still exist, by id and name, for the user to look up in
 * the console. Each step is safe to run again, so running destroy-cluster again finishes the job.
 */
export type DestroyStep = 'instances' | 'security group' | 'IAM' | 'munge key' | 'done';

const STEPS: readonly DestroyStep[] = ['instances', 'security group', 'IAM', 'munge key', 'done'];

/** How many ids or names of one kind, done or left, the line shows before "and N more". */
const NAMED_PER_KIND = 5;

export interface DestroyProgress {
  step: DestroyStep;
  /**
   * The cluster's instances and its own security groups, once the destroy has looked them up
   * (undefined before: then only their kinds can be said); added to as more are found.
   */
  found?: { readonly instances: string[]; readonly securityGroups: string[] };
  /** Its open spot requests, once looked up (after the leader is gone). */
  spotRequestsFound?: string[];
  /**
   * What the cluster may have of global or named objects, known from its name before any call:
   * `role/NAME` and `instance-profile/NAME` (none without IAM), SSM parameters (its munge key).
   */
  readonly iamNames: string[];
  readonly parameters: string[];
  /** Instances EC2 was asked to terminate (it cannot be undone, even while they shut down). */
  readonly terminating: string[];
  readonly spotRequestsCancelled: string[];
  readonly securityGroupsDeleted: string[];
  /** `role/NAME` and `instance-profile/NAME` removed. */
  readonly iamRemoved: string[];
  readonly parametersDeleted: string[];
}

export function newDestroyProgress(): DestroyProgress {
  return {
    step: 'instances',
    iamNames: [],
    parameters: [],
    terminating: [],
    spotRequestsCancelled: [],
    securityGroupsDeleted: [],
    iamRemoved: [],
    parametersDeleted: [],
  };
}

/**
 * `destroy-cluster NAME interrupted by SIGINT: it had …; may still exist: instance i-…, security
 * group sg-…, IAM roles (toil-NAME-leader, toil-NAME-worker), …: run 'toil destroy-cluster NAME'
 * again to finish`. What was not looked up yet is said by its kind.
 */
export function interruptedDestroyLine(
  clusterName: string,
  signal: string,
  p: Readonly<DestroyProgress>,
): string {
  const done = [
    ...(p.terminating.length > 0
      ? [
          `asked EC2 to terminate ${p.terminating.length} instance(s) (${namedUpTo(p.terminating, NAMED_PER_KIND)})`,
        ]
      : []),
    ...(p.spotRequestsCancelled.length > 0
      ? [`cancelled ${p.spotRequestsCancelled.length} spot request(s)`]
      : []),
    ...p.securityGroupsDeleted.map((g) => `deleted security group ${g}`),
    ...(p.iamRemoved.length > 0 ? [`removed ${p.iamRemoved.join(', ')}`] : []),
    ...p.parametersDeleted.map((name) => `deleted ${name}`),
  ];
  const from = STEPS.indexOf(p.step);
  const pending = (step: DestroyStep): boolean => STEPS.indexOf(step) >= from;
  const notIn = (items: readonly string[], gone: readonly string[]): string[] =>
    items.filter((i) => !gone.includes(i));
  const iamLeft = pending('IAM') ? notIn(p.iamNames, p.iamRemoved) : [];
  const named = (prefix: string): string[] =>
    iamLeft.filter((n) => n.startsWith(prefix)).map((n) => n.slice(prefix.length));
  const left = [
    ...(p.found
      ? [kind('instance', 'instances', notIn(p.found.instances, p.terminating))]
      : ['the instances of the cluster (not looked up yet)']),
    ...(p.spotRequestsFound
      ? [kind('open spot request', 'open spot requests', notIn(p.spotRequestsFound, p.spotRequestsCancelled))]
      : pending('instances')
        ? ['its open spot requests (not looked up yet)']
        : []),
    ...(p.found
      ? [kind('security group', 'security groups', notIn(p.found.securityGroups, p.securityGroupsDeleted))]
      : pending('security group')
        ? ['its security group (not looked up yet)']
        : []),
    kind('IAM role', 'IAM roles', named('role/')),
    kind('instance profile', 'instance profiles', named('instance-profile/')),
    kind(
      'SSM parameter',
      'SSM parameters',
      pending('munge key') ? notIn(p.parameters, p.parametersDeleted) : [],
    ),
  ].filter((k) => k !== '');
  return (
    `destroy-cluster ${clusterName} interrupted by ${signal}: ` +
    `${done.length > 0 ? `it had ${done.join(', ')}` : 'nothing was removed yet'}; ` +
    `${left.length > 0 ? `may still exist: ${left.join(', ')}` : 'nothing of it should be left'}: ` +
    `run 'toil destroy-cluster ${clusterName}' again to finish`
  );
}

/** `instance i-1`, `instances (i-1, i-2 and 3 more)`, or '' for none. */
function kind(one: string, several: string, names: readonly string[]): string {
  if (names.length === 0) return '';
  return names.length === 1 ? `${one} ${names[0]}` : `${several} (${namedUpTo(names, NAMED_PER_KIND)})`;
}
