/**
 * A small evaluator of identity-policy documents, enough to read the cluster's policies as IAM
 * would for one request: an explicit Deny wins, else an Allow whose Action, Resource and every
 * condition match, else an implicit deny. Wildcards `*` and `?` in actions (case-insensitive) and
 * resources, as IAM has them. Conditions: `StringEquals` (a key missing from the request does not
 * match, IAM's rule) and `ForAllValues:StringEquals` (every value of a multi-valued key such as
 * `aws:TagKeys` is among the allowed ones; a missing key matches, as in IAM). The local EC2
 * endpoint checks its nodes' role calls with it; the IAM policy tests read the roles with it.
 */
export interface PolicyRequest {
  readonly action: string;
  readonly resource: string;
  /** Condition keys of the request; multi-valued keys (aws:TagKeys) as lists. */
  readonly context?: Readonly<Record<string, string | readonly string[]>>;
}

interface Statement {
  readonly Effect: 'Allow' | 'Deny';
  readonly Action: readonly string[] | string;
  readonly Resource: readonly string[] | string;
  readonly Condition?: Readonly<Record<string, Readonly<Record<string, string | readonly string[]>>>>;
}

function wildcard(pattern: string, value: string, ignoreCase: boolean): boolean {
  const re = new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
    ignoreCase ? 'i' : '',
  );
  return re.test(value);
}

const list = (x: readonly string[] | string | undefined): readonly string[] =>
  x === undefined ? [] : typeof x === 'string' ? [x] : x;

function conditionHolds(op: string, key: string, allowed: readonly string[], r: PolicyRequest): boolean {
  const values = r.context?.[key];
  switch (op) {
    case 'StringEquals':
      return typeof values === 'string' && allowed.includes(values);
    case 'ForAllValues:StringEquals':
      return list(values).every((v) => allowed.includes(v));
    default:
      throw new Error(`the evaluator knows no condition operator ${op}`);
  }
}

function matches(s: Statement, r: PolicyRequest): boolean {
  if (!list(s.Action).some((a) => wildcard(a, r.action, true))) return false;
  if (!list(s.Resource).some((p) => wildcard(p, r.resource, false))) return false;
  for (const [op, pairs] of Object.entries(s.Condition ?? {}))
    for (const [key, value] of Object.entries(pairs))
      if (!conditionHolds(op, key, list(value), r)) return false;
  return true;
}

export function isAllowed(policy: { readonly Statement: readonly Statement[] }, r: PolicyRequest): boolean {
  const hits = policy.Statement.filter((s) => matches(s, r));
  return hits.some((s) => s.Effect === 'Allow') && !hits.some((s) => s.Effect === 'Deny');
}

/** Whether any Allow statement names the action at all (resources and conditions aside). */
export function namesAction(policy: { readonly Statement: readonly Statement[] }, action: string): boolean {
  return policy.Statement.some(
    (s) => s.Effect === 'Allow' && list(s.Action).some((a) => wildcard(a, action, true)),
  );
}
