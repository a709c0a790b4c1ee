import type { IncomingMessage } from 'node:http';
import { isAllowed, namesAction, type PolicyRequest } from '../iamPolicyEval.js';
import type { PolicyDocument } from '../../provisioner/aws/iamPolicies.js';
import { Ec2ApiError, type Ec2Cloud } from './ec2Cloud.js';
import type { QueryParams } from './query.js';

/**
 * What the local EC2 endpoint checks of a call signed with an instance's role credentials (the
 * keys its metadata service issued): the role's policy, as IAM would apply it. The local cloud
 * keeps no IAM of its own, so the policies are given to it (`rolePolicies`, by role name); a role
 * it has none for, and any other caller, is not checked (the endpoint checks no signature).
 *
 * Tagging calls are checked as IAM checks them, per resource: its ARN, its tags
 * (`ec2:ResourceTag/…`), the request's tag keys (`aws:TagKeys`) and tags (`aws:RequestTag/…`).
 * Any other action is checked for its name alone (some Allow names it), since the local cloud
 * does not model every action's resources and condition keys.
 */
export type RolePolicies = (role: string) => PolicyDocument | undefined;

const TAGGING = new Set(['CreateTags', 'DeleteTags']);

/** The access key id of a SigV4 `Authorization` header (`Credential=AKID/date/region/ec2/aws4_request`). */
export function signingKeyId(req: IncomingMessage): string | undefined {
  const header = req.headers.authorization;
  return typeof header === 'string' ? /Credential=([A-Z0-9]+)\//.exec(header)?.[1] : undefined;
}

/**
 * The region a call is signed for (SigV4's credential scope, `Credential=KEY/DATE/REGION/ec2/…`):
 * the region the caller's SDK was given, whose endpoint it believes it calls.
 */
export function signingRegion(req: IncomingMessage): string | undefined {
  const header = req.headers.authorization;
  return typeof header === 'string'
    ? /Credential=[^/,\s]+\/\d{8}\/([a-z]{2}(?:-[a-z]+)+-\d+)\//.exec(header)?.[1]
    : undefined;
}

function taggingRequests(cloud: Ec2Cloud, action: string, p: QueryParams): PolicyRequest[] {
  const tags = p.structs('Tag').map((t) => [t.get('Key') ?? '', t.get('Value') ?? ''] as const);
  const requestContext = {
    'aws:TagKeys': tags.map(([k]) => k),
    ...Object.fromEntries(tags.map(([k, v]) => [`aws:RequestTag/${k}`, v])),
  };
  return p.list('ResourceId').map((id) => {
    let resource: { type: string; tags: ReadonlyMap<string, string> };
    try {
      resource = cloud.tagsOf(id);
    } catch {
      // IAM decides before EC2 looks the resource up: an unknown one has no tags to match.
      resource = { type: id.startsWith('i-') ? 'instance' : 'unknown', tags: new Map() };
    }
    return {
      action: `ec2:${action}`,
      resource: `arn:aws:ec2:${cloud.region}:${cloud.accountId()}:${resource.type}/${id}`,
      context: {
        ...Object.fromEntries([...resource.tags].map(([k, v]) => [`ec2:ResourceTag/${k}`, v])),
        ...requestContext,
      },
    };
  });
}

/** Throws EC2's UnauthorizedOperation (403) if the role's policy does not allow the call. */
export function authorizeRoleCall(
  cloud: Ec2Cloud,
  action: string,
  p: QueryParams,
  caller: { instanceId: string; role: string },
  policy: PolicyDocument,
): void {
  const principal = `arn:aws:sts::${cloud.accountId()}:assumed-role/${caller.role}/${caller.instanceId}`;
  const denied = TAGGING.has(action)
    ? taggingRequests(cloud, action, p).find((r) => !isAllowed(policy, r))?.resource
    : namesAction(policy, `ec2:${action}`)
      ? undefined
      : '*';
  if (denied !== undefined)
    throw new Ec2ApiError(
      'UnauthorizedOperation',
      `You are not authorized to perform this operation. User: ${principal} is not authorized to perform: ec2:${action} on resource: ${denied} because no identity-based policy allows the ec2:${action} action`,
      403,
    );
}
