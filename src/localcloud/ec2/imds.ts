import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Buffer } from 'node:buffer';
import type { Ec2Cloud, InstanceRecord } from './ec2Cloud.js';
import { RoleCredentialIssuer } from './roleCredentials.js';

/**
 * A per-instance instance-metadata service at `/imds/<instance-id>/latest/…`, so a process standing
 * in for an instance (the Mesos agent) reads what a real one reads at 169.254.169.254: its id,
 * type, zone, addresses, user data, and the spot interruption notice two minutes ahead. IMDSv2 is
 * enforced as EC2 enforces it: with `HttpTokens=required`, a GET needs a token from a PUT first.
 */
export class InstanceMetadataService {
  private readonly cloud: Ec2Cloud;
  private readonly tokens = new Map<string, { instanceId: string; expires: number }>();
  /** Role credentials of instances launched with an instance profile. */
  readonly credentials: RoleCredentialIssuer;

  constructor(cloud: Ec2Cloud) {
    this.cloud = cloud;
    this.credentials = new RoleCredentialIssuer(() => cloud.now());
  }

  /** Handles `/imds/<instance-id>/...`; returns false for any other path. */
  handle(req: IncomingMessage, res: ServerResponse, path: string): boolean {
    const m = /^\/imds\/(i-[0-9a-f]+)(\/.*)$/.exec(path);
    if (!m) return false;
    this.handleInstance(req, res, m[1]!, m[2]!);
    return true;
  }

  /**
   * Answers one instance's metadata request, `sub` being the path from `/latest` on: what an
   * instance's own listener (its AWS_EC2_METADATA_SERVICE_ENDPOINT) serves at its root.
   */
  handleInstance(req: IncomingMessage, res: ServerResponse, instanceId: string, sub: string): void {
    this.cloud.settle();
    const inst = this.cloud.instances.get(instanceId);
    const send = (status: number, body: string, type = 'text/plain'): void => {
      res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
      res.end(body);
    };
    if (!inst || inst.state !== 'running' || inst.metadata.httpEndpoint === 'disabled') {
      send(404, 'Not Found');
      return;
    }
    if (sub === '/latest/api/token') {
      if (req.method !== 'PUT') {
        send(405, 'Method Not Allowed');
        return;
      }
      const ttl = Number(req.headers['x-aws-ec2-metadata-token-ttl-seconds']);
      if (!Number.isInteger(ttl) || ttl < 1 || ttl > 21600) {
        send(400, 'Bad Request');
        return;
      }
      const token = randomBytes(32).toString('base64');
      this.tokens.set(token, { instanceId: inst.id, expires: this.cloud.now() + ttl * 1000 });
      res.setHeader('x-aws-ec2-metadata-token-ttl-seconds', String(ttl));
      send(200, token);
      return;
    }
    const token = req.headers['x-aws-ec2-metadata-token'];
    const known = typeof token === 'string' ? this.tokens.get(token) : undefined;
    const valid = known !== undefined && known.instanceId === inst.id && known.expires > this.cloud.now();
    if (typeof token === 'string' && !valid) {
      send(401, 'Unauthorized');
      return;
    }
    if (inst.metadata.httpTokens === 'required' && !valid) {
      send(401, 'Unauthorized');
      return;
    }
    if (req.method !== 'GET') {
      send(405, 'Method Not Allowed');
      return;
    }
    const answer = this.answer(inst, sub);
    if (answer === undefined) send(404, 'Not Found');
    else send(200, answer.body, answer.type);
  }

  private answer(inst: InstanceRecord, path: string): { body: string; type?: string } | undefined {
    if (path === '/latest/user-data')
      return inst.userData
        ? { body: Buffer.from(inst.userData, 'base64').toString('utf8'), type: 'application/octet-stream' }
        : undefined;
    const prefix = '/latest/meta-data';
    if (!path.startsWith(prefix)) return undefined;
    const key = path.slice(prefix.length).replace(/^\//, '');
    if (key === 'iam' || key.startsWith('iam/')) return this.iamAnswer(inst, key);
    const notice =
      inst.interruption && this.cloud.now() >= inst.interruption.noticeAt ? inst.interruption : undefined;
    const values: Record<string, string | undefined> = {
      'ami-id': inst.imageId,
      'instance-id': inst.id,
      'instance-type': inst.type.name,
      'instance-life-cycle': inst.market,
      'local-ipv4': inst.privateIp,
      'public-ipv4': inst.publicIp,
      'placement/availability-zone': inst.zone,
      'placement/region': this.cloud.region,
      'security-groups': inst.groupIds.map((g) => this.cloud.securityGroups.get(g)?.name ?? g).join('\n'),
      'spot/instance-action': notice
        ? JSON.stringify({
            action: 'terminate',
            time: new Date(notice.terminateAt).toISOString().replace(/\.\d{3}Z$/, 'Z'),
          })
        : undefined,
      'events/recommendations/rebalance':
        inst.rebalanceAt !== undefined
          ? JSON.stringify({ noticeTime: new Date(inst.rebalanceAt).toISOString().replace(/\.\d{3}Z$/, 'Z') })
          : undefined,
      'spot/termination-time': notice
        ? new Date(notice.terminateAt).toISOString().replace(/\.\d{3}Z$/, 'Z')
        : undefined,
    };
    if (key === '') {
      const top = new Set(
        Object.keys(values)
          .filter((k) => values[k] !== undefined)
          .map((k) => (k.includes('/') ? `${k.split('/')[0]}/` : k)),
      );
      if (inst.iamInstanceProfileArn) top.add('iam/');
      return { body: [...top].sort().join('\n') };
    }
    const v = values[key];
    return v === undefined
      ? undefined
      : { body: v, type: v.startsWith('{') ? 'application/json' : 'text/plain' };
  }

  /**
   * `iam/info`, `iam/security-credentials/` (the role's name) and
   * `iam/security-credentials/ROLE` (temporary keys, as EC2 serves them), for an instance launched
   * with an instance profile; 404 without one, as on EC2.
   */
  private iamAnswer(inst: InstanceRecord, key: string): { body: string; type?: string } | undefined {
    const profileArn = inst.iamInstanceProfileArn;
    if (!profileArn) return undefined;
    const role = roleOfProfile(profileArn);
    const profileId = `AIPA${inst.id.slice(2, 19).toUpperCase()}`;
    switch (key.replace(/\/$/, '')) {
      case 'iam':
        return { body: 'info\nsecurity-credentials/' };
      case 'iam/info':
        return {
          body: JSON.stringify({
            Code: 'Success',
            LastUpdated: isoSeconds(this.cloud.now()),
            InstanceProfileArn: profileArn,
            InstanceProfileId: profileId,
          }),
          type: 'application/json',
        };
      case 'iam/security-credentials':
        return { body: role };
      case `iam/security-credentials/${role}`: {
        const c = this.credentials.credentialsFor(inst.id, role);
        return {
          body: JSON.stringify({
            Code: 'Success',
            LastUpdated: isoSeconds(c.issuedAt),
            Type: 'AWS-HMAC',
            AccessKeyId: c.accessKeyId,
            SecretAccessKey: c.secretAccessKey,
            Token: c.sessionToken,
            Expiration: isoSeconds(c.expiresAt),
          }),
          type: 'application/json',
        };
      }
      default:
        return undefined;
    }
  }
}

/**
 * The role an instance profile holds. The local cloud keeps no IAM of its own: it takes the
 * profile's name (the ARN's last part) as the role's, which is how launch-cluster names both.
 */
export function roleOfProfile(profileArn: string): string {
  return profileArn.slice(profileArn.lastIndexOf('/') + 1);
}

function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}
