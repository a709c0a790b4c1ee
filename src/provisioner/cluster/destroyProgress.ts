/**
 * How far a `toil destroy-cluster` got, kept up to date as it goes: one stopped by Ctrl-C says in
 * one line what it had done and what may still exist. Each step is safe to run again, so running
 * destroy-cluster again finishes the job.
 */
export type DestroyStep = 'instances' | 'security group' | 'IAM' | 'munge key' | 'done';

const STEPS: readonly DestroyStep[] = ['instances', 'security group', 'IAM', 'munge key', 'done'];

export interface DestroyProgress {
  step: DestroyStep;
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
    terminating: [],
    spotRequestsCancelled: [],
    securityGroupsDeleted: [],
    iamRemoved: [],
    parametersDeleted: [],
  };
}

/**
 * `destroy-cluster NAME interrupted by SIGINT: it had …; what may still exist: …: run 'toil
 * destroy-cluster NAME' again to finish`. `has` says which kinds the cluster can have here (no
 * IAM or munge key on a local cloud without those endpoints).
 */
export function interruptedDestroyLine(
  clusterName: string,
  signal: string,
  p: Readonly<DestroyProgress>,
  has: { iam: boolean; mungeKey: boolean },
): string {
  const done = [
    ...(p.terminating.length > 0
      ? [`asked EC2 to terminate ${p.terminating.length} instance(s) (${p.terminating.join(', ')})`]
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
  const left = [
    ...(pending('instances') ? ['instances not yet terminating and open spot requests'] : []),
    ...(pending('security group') ? ['the security group'] : []),
    ...(has.iam && pending('IAM') ? ['IAM roles and instance profiles'] : []),
    ...(has.mungeKey && pending('munge key') ? ['the munge key'] : []),
  ];
  return (
    `destroy-cluster ${clusterName} interrupted by ${signal}: ` +
    `${done.length > 0 ? `it had ${done.join(', ')}` : 'nothing was removed yet'}; ` +
    `${left.length > 0 ? `may still exist: ${left.join(', ')}` : 'nothing of it should be left'}: ` +
    `run 'toil destroy-cluster ${clusterName}' again to finish`
  );
}
