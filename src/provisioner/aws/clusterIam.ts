import type { IAMClient, InstanceProfile } from '@aws-sdk/client-iam';
import { iamSdk } from '../../common/awsSdkPackages.js';
import type { Clock } from '../../common/clock.js';
import { ToilError, UserInputError } from '../../common/errors.js';
import type { Logger } from '../../common/log.js';
import { endpointFailure, type EndpointInUse } from '../../common/unansweredEndpoint.js';
import { ProvisionerError } from '../errors.js';
import { NO_CREDENTIALS_MESSAGE } from './ec2Errors.js';
import { notToilsRefusal, type NotToils } from './notToils.js';
import {
  EC2_TRUST_POLICY,
  clusterIamNames,
  leaderPolicy,
  workerPolicy,
  type ClusterIamNames,
  type PolicyDocument,
} from './iamPolicies.js';
import { TAG_CLUSTER, fromTagList, toTagList } from './tags.js';

const {
  AddRoleToInstanceProfileCommand,
  CreateInstanceProfileCommand,
  CreateRoleCommand,
  DeleteInstanceProfileCommand,
  DeleteRoleCommand,
  DeleteRolePolicyCommand,
  DetachRolePolicyCommand,
  GetInstanceProfileCommand,
  GetRoleCommand,
  GetRolePolicyCommand,
  ListAttachedRolePoliciesCommand,
  ListInstanceProfilesForRoleCommand,
  ListRolePoliciesCommand,
  PutRolePolicyCommand,
  RemoveRoleFromInstanceProfileCommand,
} = iamSdk();

/**
 * What the person running launch-cluster needs in IAM (and destroy-cluster, to remove it again).
 * iam:GetRolePolicy is wanted too, not needed: with it both tell a cluster of the same name in
 * another region (IAM is global) and leave its roles alone.
 */
export const LAUNCH_IAM_PERMISSIONS = [
  'iam:CreateRole',
  'iam:GetRole',
  'iam:TagRole',
  'iam:PutRolePolicy',
  'iam:CreateInstanceProfile',
  'iam:TagInstanceProfile',
  'iam:GetInstanceProfile',
  'iam:AddRoleToInstanceProfile',
  'iam:PassRole',
] as const;
export const DESTROY_IAM_PERMISSIONS = [
  'iam:GetRole',
  'iam:GetInstanceProfile',
  'iam:RemoveRoleFromInstanceProfile',
  'iam:DeleteInstanceProfile',
  'iam:ListInstanceProfilesForRole',
  'iam:ListRolePolicies',
  'iam:DeleteRolePolicy',
  'iam:ListAttachedRolePolicies',
  'iam:DetachRolePolicy',
  'iam:DeleteRole',
] as const;

export interface ClusterProfiles {
  readonly leaderProfileArn: string;
  readonly workerProfileArn: string;
  readonly workerRoleArn: string;
}

/** Who holds the cluster's four IAM names (its two roles and two instance profiles). */
export interface IamNamesHeld {
  /** The cluster's roles and profiles there already (`role/NAME`, …); undefined when IAM may not be read. */
  readonly existing: ReadonlySet<string> | undefined;
  /** Those of its names toil-ts did not make (none when IAM may not be read). */
  readonly others: readonly NotToils[];
}

/** IAM's own endpoint (global), where no AWS_ENDPOINT_URL_IAM names another. */
export const AWS_IAM_ENDPOINT: EndpointInUse = {
  url: 'https://iam.amazonaws.com',
  setBy: 'AWS_ENDPOINT_URL_IAM',
};

const DENIED = new Set([
  'AccessDenied',
  'AccessDeniedException',
  'UnauthorizedOperation',
  'InvalidClientTokenId',
]);

/**
 * The cluster's IAM: the leader's and the workers' roles (each with one inline least-privilege
 * policy from `iamPolicies.ts`) and their instance profiles, tagged with the cluster's tags
 * (clusterName, Owner). `ensure` is re-runnable (what exists is reused, the policies rewritten);
 * `remove` deletes everything it finds and skips what is gone.
 */
export class ClusterIam {
  readonly names: ClusterIamNames;
  private readonly iam: IAMClient;
  private readonly clusterName: string;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly endpoint: EndpointInUse;

  constructor(options: {
    iam: IAMClient;
    clusterName: string;
    clock: Clock;
    log: Logger;
    /** Where the client sends, named when no answer comes from there. */
    endpoint?: EndpointInUse;
  }) {
    this.iam = options.iam;
    this.endpoint = options.endpoint ?? AWS_IAM_ENDPOINT;
    this.clusterName = options.clusterName;
    this.names = clusterIamNames(options.clusterName);
    this.clock = options.clock;
    this.log = options.log.child({ component: 'iam', cluster: options.clusterName });
  }

  /**
   * Makes (or reuses) both roles and profiles, then waits until IAM shows each profile with its
   * role, as EC2 will need to see it (IAM is eventually consistent). `made` gets each role and
   * profile this call makes (`role/NAME`, `instance-profile/NAME`) as it asks IAM for it, so a
   * launch failing later removes those and leaves what it reused; one IAM refuses is taken out
   * again, and one asked with no answer back stays (it may have been made).
   */
  async ensure(options: {
    region: string;
    tags: Readonly<Record<string, string>>;
    progress: (line: string) => void;
    timeoutMs: number;
    pollMs: number;
    made?: Set<string>;
    /** The names as `namesHeld` read them before (launch-cluster reads them once); read here if absent. */
    held?: IamNamesHeld;
  }): Promise<ClusterProfiles> {
    const n = this.names;
    // IAM is global, EC2 regional: the same name in another region would take over (rewrite) the
    // roles of a cluster running there, and a destroy of either would remove the other's.
    const elsewhere = await this.policyRegion('launch-cluster');
    if (elsewhere !== undefined && elsewhere !== options.region)
      throw new UserInputError(
        'CLUSTER_EXISTS',
        `a cluster named '${this.clusterName}' has IAM roles (${n.leaderRole}, ${n.workerRole}) for region ${elsewhere}, and IAM names are global: ` +
          `name this cluster otherwise, or destroy that one first (toil destroy-cluster ${this.clusterName} --zone <a zone of ${elsewhere}>)`,
        { clusterName: this.clusterName, region: elsewhere },
      );
    const made = new MadeByThisCall(await this.refuseOthers(options.held), options.made);
    const workerRoleArn = await this.ensureRole(
      n.workerRole,
      workerPolicy({ clusterName: this.clusterName, region: options.region }),
      options.tags,
      'workers',
      made,
    );
    await this.ensureRole(
      n.leaderRole,
      leaderPolicy({ clusterName: this.clusterName, region: options.region, workerRoleArn }),
      options.tags,
      'the leader',
      made,
    );
    const leaderProfileArn = await this.ensureProfile(n.leaderProfile, n.leaderRole, options.tags, made);
    const workerProfileArn = await this.ensureProfile(n.workerProfile, n.workerRole, options.tags, made);
    options.progress(`IAM roles and instance profiles ${n.leaderProfile}, ${n.workerProfile} ready`);
    await this.waitForProfile(n.leaderProfile, n.leaderRole, options);
    await this.waitForProfile(n.workerProfile, n.workerRole, options);
    return { leaderProfileArn, workerProfileArn, workerRoleArn };
  }

  /**
   * The region the cluster's roles are for, as their policy's EC2 resources name it; undefined
   * when there are no roles, or their policy names no region.
   */
  async policyRegion(command: string): Promise<string | undefined> {
    let out;
    try {
      out = await this.skipGone('GetRolePolicy', command, () =>
        this.iam.send(
          new GetRolePolicyCommand({ RoleName: this.names.leaderRole, PolicyName: this.names.policyName }),
        ),
      );
    } catch (e) {
      // Credentials granted what these commands needed before this check: they go on as then,
      // and the call they are refused names its own permission.
      if (e instanceof UserInputError && e.code === 'IAM_NOT_AUTHORISED') return undefined;
      throw e;
    }
    const doc = out?.PolicyDocument;
    if (!doc) return undefined;
    let text = doc;
    try {
      // IAM returns the document URL-encoded.
      text = decodeURIComponent(doc);
    } catch {
      // Not encoded: read as it is.
    }
    return /arn:aws[a-z-]*:ec2:([a-z]{2}(?:-[a-z]+)+-\d+):/.exec(text)?.[1];
  }

  /**
   * Removes both profiles and roles with their policies; returns what was removed. Only what
   * toil-ts made for this cluster goes (tagged with its name, as launch-cluster has always tagged
   * them); a role or profile of the same name without that tag is someone else's, left as it is.
   * A profile IAM shows without tags counts as the cluster's when the roles it holds are; what is
   * left alone is added to `leftAlone`. With `only` (a failed launch's `made`), only those of the
   * cluster's are removed; `removed` is filled as it goes (what was done when a call fails).
   */
  async remove(
    progress: (line: string) => void,
    leftAlone: string[] = [],
    options: { only?: ReadonlySet<string>; removed?: string[] } = {},
  ): Promise<string[]> {
    const removed = options.removed ?? [];
    const wanted = (what: string): boolean => options.only === undefined || options.only.has(what);
    const n = this.names;
    const ownRoles: string[] = [];
    for (const role of [n.leaderRole, n.workerRole]) {
      const out = await this.skipGone('GetRole', 'destroy-cluster', () =>
        this.iam.send(new GetRoleCommand({ RoleName: role })),
      );
      if (!out?.Role) continue;
      if (this.madeForCluster(out.Role.Tags)) ownRoles.push(role);
      else {
        progress(this.leftAlone('IAM role', role));
        leftAlone.push(`role/${role}`);
      }
    }
    for (const profile of [n.leaderProfile, n.workerProfile]) {
      if (!wanted(`instance-profile/${profile}`)) continue;
      const p = await this.getProfile(profile, 'destroy-cluster');
      if (!p) continue;
      const held = (p.Roles ?? []).map((r) => r.RoleName ?? '');
      // Untagged and empty says nothing of who made it: kept.
      const unknown = held.length === 0 && (p.Tags ?? []).length === 0;
      if (unknown || !this.profileMadeForCluster(p, ownRoles)) {
        progress(this.leftAlone('instance profile', profile));
        leftAlone.push(`instance-profile/${profile}`);
        continue;
      }
      for (const role of held)
        await this.skipGone('RemoveRoleFromInstanceProfile', 'destroy-cluster', () =>
          this.iam.send(
            new RemoveRoleFromInstanceProfileCommand({
              InstanceProfileName: profile,
              RoleName: role,
            }),
          ),
        );
      await this.skipGone('DeleteInstanceProfile', 'destroy-cluster', () =>
        this.iam.send(new DeleteInstanceProfileCommand({ InstanceProfileName: profile })),
      );
      progress(`deleted instance profile ${profile}`);
      removed.push(`instance-profile/${profile}`);
    }
    for (const role of ownRoles.filter((r) => wanted(`role/${r}`))) {
      // A profile of someone else's holding the role would block its deletion: let go of it.
      const holders = await this.call('ListInstanceProfilesForRole', 'destroy-cluster', () =>
        this.iam.send(new ListInstanceProfilesForRoleCommand({ RoleName: role })),
      );
      for (const p of holders.InstanceProfiles ?? [])
        await this.skipGone('RemoveRoleFromInstanceProfile', 'destroy-cluster', () =>
          this.iam.send(
            new RemoveRoleFromInstanceProfileCommand({
              InstanceProfileName: p.InstanceProfileName,
              RoleName: role,
            }),
          ),
        );
      const inline = await this.call('ListRolePolicies', 'destroy-cluster', () =>
        this.iam.send(new ListRolePoliciesCommand({ RoleName: role })),
      );
      for (const policy of inline.PolicyNames ?? [])
        await this.skipGone('DeleteRolePolicy', 'destroy-cluster', () =>
          this.iam.send(new DeleteRolePolicyCommand({ RoleName: role, PolicyName: policy })),
        );
      const attached = await this.call('ListAttachedRolePolicies', 'destroy-cluster', () =>
        this.iam.send(new ListAttachedRolePoliciesCommand({ RoleName: role })),
      );
      for (const policy of attached.AttachedPolicies ?? [])
        await this.skipGone('DetachRolePolicy', 'destroy-cluster', () =>
          this.iam.send(new DetachRolePolicyCommand({ RoleName: role, PolicyArn: policy.PolicyArn })),
        );
      await this.skipGone('DeleteRole', 'destroy-cluster', () =>
        this.iam.send(new DeleteRoleCommand({ RoleName: role })),
      );
      progress(`deleted IAM role ${role} and its policies`);
      removed.push(`role/${role}`);
    }
    return removed;
  }

  /**
   * Who holds the cluster's IAM names, each read once: launch-cluster names those toil-ts did not
   * make together with the rest of what blocks the name, then gives this to `ensure`. When IAM may
   * not be read, nothing is known (the launch is then told so by the first call it needs,
   * CreateRole; reusing a role of the name needs GetRole, so nothing is taken over).
   */
  async namesHeld(): Promise<IamNamesHeld> {
    try {
      return await this.readNamesHeld();
    } catch (e) {
      if (e instanceof UserInputError && e.code === 'IAM_NOT_AUTHORISED')
        return { existing: undefined, others: [] };
      throw e;
    }
  }

  /**
   * Reusing a role or profile of the cluster's names that toil-ts did not make would take it over
   * (its policy rewritten, the cluster's role put in it), and destroy-cluster would leave it: the
   * name is refused before anything is made, naming each of them. Returns the cluster's roles and
   * profiles that exist already (`role/NAME`, …); undefined when IAM may not be read.
   */
  private async refuseOthers(given?: IamNamesHeld): Promise<ReadonlySet<string> | undefined> {
    const held = given ?? (await this.namesHeld());
    if (held.others.length > 0) throw notToilsRefusal(this.clusterName, held.others);
    return held.existing;
  }

  private async readNamesHeld(): Promise<{ existing: Set<string>; others: NotToils[] }> {
    const n = this.names;
    const existing = new Set<string>();
    const others: NotToils[] = [];
    for (const role of [n.leaderRole, n.workerRole]) {
      const out = await this.skipGone('GetRole', 'launch-cluster', () =>
        this.iam.send(new GetRoleCommand({ RoleName: role })),
      );
      if (out?.Role && !this.madeForCluster(out.Role.Tags)) others.push(this.notOurs('an IAM role', role));
      else if (out?.Role) existing.add(`role/${role}`);
    }
    for (const profile of [n.leaderProfile, n.workerProfile]) {
      const p = await this.getProfile(profile, 'launch-cluster');
      if (p && !this.profileMadeForCluster(p, [n.leaderRole, n.workerRole]))
        others.push(this.notOurs('an instance profile', profile));
      else if (p) existing.add(`instance-profile/${profile}`);
    }
    return { existing, others };
  }

  private notOurs(what: string, name: string): NotToils {
    return {
      code: 'IAM_NOT_TOILS',
      named: `${what} named '${name}'`,
      tagOf: `cluster '${this.clusterName}'`,
    };
  }

  /**
   * Tagged with the cluster's name; one IAM shows without tags is the cluster's when it holds only
   * the cluster's roles.
   */
  private profileMadeForCluster(p: InstanceProfile, clusterRoles: readonly string[]): boolean {
    if ((p.Tags ?? []).length > 0) return this.madeForCluster(p.Tags);
    return (p.Roles ?? []).every((r) => clusterRoles.includes(r.RoleName ?? ''));
  }

  private madeForCluster(tags: readonly { Key?: string; Value?: string }[] | undefined): boolean {
    return fromTagList(tags)[TAG_CLUSTER] === this.clusterName;
  }

  private leftAlone(what: string, name: string): string {
    return `${what} ${name} exists but toil-ts did not make it for cluster '${this.clusterName}' (no clusterName tag of it): left alone`;
  }

  private async ensureRole(
    role: string,
    policy: PolicyDocument,
    tags: Readonly<Record<string, string>>,
    forWhom: string,
    made: MadeByThisCall,
  ): Promise<string> {
    let arn: string | undefined;
    made.asking(`role/${role}`);
    try {
      const out = await this.call('CreateRole', 'launch-cluster', () =>
        this.iam.send(
          new CreateRoleCommand({
            RoleName: role,
            AssumeRolePolicyDocument: JSON.stringify(EC2_TRUST_POLICY),
            Description: `toil cluster ${this.clusterName}: ${forWhom}`,
            Tags: toTagList(tags),
          }),
        ),
      );
      arn = out.Role?.Arn;
    } catch (e) {
      made.answered(`role/${role}`, e);
      if (!(e instanceof IamConflict)) throw e;
      const out = await this.call('GetRole', 'launch-cluster', () =>
        this.iam.send(new GetRoleCommand({ RoleName: role })),
      );
      arn = out.Role?.Arn;
    }
    await this.call('PutRolePolicy', 'launch-cluster', () =>
      this.iam.send(
        new PutRolePolicyCommand({
          RoleName: role,
          PolicyName: this.names.policyName,
          PolicyDocument: JSON.stringify(policy),
        }),
      ),
    );
    if (!arn) throw new ToilError('IAM_NO_ARN', `IAM returned no ARN for role ${role}`);
    this.log.info({ role, arn }, 'IAM role ready');
    return arn;
  }

  private async ensureProfile(
    profile: string,
    role: string,
    tags: Readonly<Record<string, string>>,
    made: MadeByThisCall,
  ): Promise<string> {
    let p: InstanceProfile | undefined;
    made.asking(`instance-profile/${profile}`);
    try {
      const out = await this.call('CreateInstanceProfile', 'launch-cluster', () =>
        this.iam.send(
          new CreateInstanceProfileCommand({ InstanceProfileName: profile, Tags: toTagList(tags) }),
        ),
      );
      p = out.InstanceProfile;
    } catch (e) {
      made.answered(`instance-profile/${profile}`, e);
      if (!(e instanceof IamConflict)) throw e;
      p = await this.getProfile(profile, 'launch-cluster');
    }
    if (!(p?.Roles ?? []).some((r) => r.RoleName === role))
      await this.call('AddRoleToInstanceProfile', 'launch-cluster', () =>
        this.iam.send(new AddRoleToInstanceProfileCommand({ InstanceProfileName: profile, RoleName: role })),
      );
    if (!p?.Arn) throw new ToilError('IAM_NO_ARN', `IAM returned no ARN for instance profile ${profile}`);
    return p.Arn;
  }

  private async waitForProfile(
    profile: string,
    role: string,
    o: { timeoutMs: number; pollMs: number; progress: (line: string) => void },
  ): Promise<void> {
    const deadline = this.clock.now() + o.timeoutMs;
    for (let said = false; ;) {
      const p = await this.getProfile(profile, 'launch-cluster');
      if ((p?.Roles ?? []).some((r) => r.RoleName === role)) return;
      if (this.clock.now() >= deadline)
        throw new ToilError(
          'IAM_NOT_CONSISTENT',
          `instance profile ${profile} did not show role ${role} within ${Math.round(o.timeoutMs / 1000)} s`,
        );
      if (!said) o.progress(`waiting for IAM to show ${profile} with its role`);
      said = true;
      await this.clock.sleep(o.pollMs);
    }
  }

  private async getProfile(profile: string, command: string): Promise<InstanceProfile | undefined> {
    const out = await this.skipGone('GetInstanceProfile', command, () =>
      this.iam.send(new GetInstanceProfileCommand({ InstanceProfileName: profile })),
    );
    return out?.InstanceProfile;
  }

  /** The call, or undefined when IAM says the thing is not there (NoSuchEntity). */
  private async skipGone<T>(action: string, command: string, send: () => Promise<T>): Promise<T | undefined> {
    try {
      return await this.call(action, command, send);
    } catch (e) {
      if (e instanceof IamGone) return undefined;
      throw e;
    }
  }

  private async call<T>(action: string, command: string, send: () => Promise<T>): Promise<T> {
    try {
      const out = await send();
      this.log.debug({ action }, 'IAM call');
      return out;
    } catch (thrown) {
      throw translateIamError(thrown, action, command, this.endpoint);
    }
  }
}

/**
 * Whether the caller's account has an instance profile of that name (--awsEc2ProfileArn's), asked
 * before a launch makes anything: false when IAM says it does not exist; undefined when IAM cannot
 * say (these credentials may not read IAM, the flag's main use, or IAM is unreachable), so the
 * launch goes on and EC2 judges the profile.
 */
export async function instanceProfileExists(iam: IAMClient, name: string): Promise<boolean | undefined> {
  try {
    await iam.send(new GetInstanceProfileCommand({ InstanceProfileName: name }));
    return true;
  } catch (e) {
    const code = (e as { name?: string }).name;
    return code === 'NoSuchEntity' || code === 'NoSuchEntityException' ? false : undefined;
  }
}

class IamConflict extends ToilError {}
class IamGone extends ToilError {}

/**
 * What one ensure() makes, kept in the caller's set: a role or profile is put there as IAM is
 * asked to create it, and taken out when IAM refuses (nothing was made) or says the name exists
 * where the name was there before the launch began (reused, not made). One taken since the
 * launch looked (a create whose answer was lost and the SDK sent again) stays: it is this launch's.
 */
class MadeByThisCall {
  /** The cluster's names that existed when the launch looked; undefined when IAM could not be read. */
  private readonly before: ReadonlySet<string> | undefined;
  private readonly made: Set<string> | undefined;

  constructor(before: ReadonlySet<string> | undefined, made: Set<string> | undefined) {
    this.before = before;
    this.made = made;
  }

  asking(what: string): void {
    if (this.before === undefined || !this.before.has(what)) this.made?.add(what);
  }

  /** IAM's failure of the create: no answer (it may have been made) keeps it. */
  answered(what: string, e: unknown): void {
    if (e instanceof ProvisionerError && e.code === 'IAM_UNREACHABLE') return;
    if (e instanceof IamConflict && this.before !== undefined && !this.before.has(what)) return;
    this.made?.delete(what);
  }
}

/**
 * IAM's errors, translated once: a refused permission and missing credentials are the user's to
 * fix (one line, exit 2, naming the permission and the way around it); EntityAlreadyExists and
 * NoSuchEntity are what re-runs meet. Any other answer of IAM's (a ValidationError,
 * MalformedPolicyDocument, LimitExceeded, …) is AWS refusing the call, not a fault of toil-ts's:
 * one line naming the call and AWS's message (a launch then removes what it made). No answer at
 * all (refused, reset, timed out) is one line naming the endpoint and the cause (IAM_UNREACHABLE).
 */
export function translateIamError(
  thrown: unknown,
  action: string,
  command: string,
  endpoint: EndpointInUse = AWS_IAM_ENDPOINT,
): ToilError {
  const e = thrown as { name?: string; message?: string; Code?: string };
  const name = e.name ?? e.Code ?? 'Error';
  const message = e.message ?? String(thrown);
  if (DENIED.has(name) || /not authorized to perform/i.test(message)) {
    const way =
      command === 'launch-cluster'
        ? 'grant it (launch-cluster needs ' +
          LAUNCH_IAM_PERMISSIONS.join(', ') +
          '), or pass --awsEc2ProfileArn with an instance profile made beforehand'
        : 'grant it (destroy-cluster needs ' + DESTROY_IAM_PERMISSIONS.join(', ') + ')';
    return new UserInputError(
      'IAM_NOT_AUTHORISED',
      `${command}: these credentials may not call iam:${action} (${name}): ${way}`,
      { action: `iam:${action}` },
    );
  }
  if (name === 'CredentialsProviderError' || /Could not load credentials/i.test(message))
    return new UserInputError('NO_CREDENTIALS', `IAM ${action}: ${NO_CREDENTIALS_MESSAGE}`);
  if (name === 'EntityAlreadyExists' || name === 'EntityAlreadyExistsException')
    return new IamConflict('IAM_EXISTS', `IAM ${action}: ${message}`, { cause: thrown });
  if (name === 'NoSuchEntity' || name === 'NoSuchEntityException')
    return new IamGone('IAM_NOT_FOUND', `IAM ${action}: ${message}`, { cause: thrown });
  if ((thrown as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode !== undefined)
    return new ProvisionerError(
      'IAM_REJECTED',
      `${command}: IAM ${action} failed: ${name}: ${message.replace(/\s+/g, ' ').trim()}`,
      { cause: thrown, cloudCode: name, details: { action: `iam:${action}` } },
    );
  const unanswered = endpointFailure('IAM', endpoint.url, thrown, endpoint.setBy);
  if (unanswered !== undefined)
    return new ProvisionerError('IAM_UNREACHABLE', `${command}: IAM ${action}: ${unanswered}`, {
      cause: thrown,
      cloudCode: name,
      details: { action: `iam:${action}` },
    });
  return new ToilError('IAM_REJECTED', `IAM ${action}: ${name}: ${message}`, { cause: thrown });
}
