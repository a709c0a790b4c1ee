import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Buffer } from 'node:buffer';
import type { Ec2Cloud, InstanceRecord } from './ec2Cloud.js';

/**
 * A per-instance instance-metadata service at `/imds/<instance-id>/latest/…`, so a process standing
 * in for an instance (the Mesos agent) reads what a real one reads at 169.254.169.254: its id,
 * type, zone, addresses, user data, and the spot interruption notice two minutes ahead. IMDSv2 is
 * enforced as EC2 enforces it: with `HttpTokens=required`, a GET needs a token from a PUT first.
 */
export class InstanceMetadataService {
  private readonly cloud: Ec2Cloud;
  private readonly tokens = new Map<string, { instanceId: string; expires: number }>();

  constructor(cloud: Ec2Cloud) {
    this.cloud = cloud;
  }

  /** Handles `/imds/...`; returns false for any other path. */
  handle(req: IncomingMessage, res: ServerResponse, path: string): boolean {
    const m = /^\/imds\/(i-[0-9a-f]+)(\/.*)$/.exec(path);
    if (!m) return false;
    this.cloud.settle();
    const inst = this.cloud.instances.get(m[1]!);
    const sub = m[2]!;
    const send = (status: number, body: string, type = 'text/plain'): void => {
      res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
      res.end(body);
    };
    if (!inst || inst.state !== 'running' || inst.metadata.httpEndpoint === 'disabled') {
      send(404, 'Not Found');
      return true;
    }
    if (sub === '/latest/api/token') {
      if (req.method !== 'PUT') {
        send(405, 'Method Not Allowed');
        return true;
      }
      const ttl = Number(req.headers['x-aws-ec2-metadata-token-ttl-seconds']);
      if (!Number.isInteger(ttl) || ttl < 1 || ttl > 21600) {
        send(400, 'Bad Request');
        return true;
      }
      const token = randomBytes(32).toString('base64');
      this.tokens.set(token, { instanceId: inst.id, expires: this.cloud.now() + ttl * 1000 });
      res.setHeader('x-aws-ec2-metadata-token-ttl-seconds', String(ttl));
      send(200, token);
      return true;
    }
    const token = req.headers['x-aws-ec2-metadata-token'];
    const known = typeof token === 'string' ? this.tokens.get(token) : undefined;
    const valid = known !== undefined && known.instanceId === inst.id && known.expires > this.cloud.now();
    if (typeof token === 'string' && !valid) {
      send(401, 'Unauthorized');
      return true;
    }
    if (inst.metadata.httpTokens === 'required' && !valid) {
      send(401, 'Unauthorized');
      return true;
    }
    if (req.method !== 'GET') {
      send(405, 'Method Not Allowed');
      return true;
    }
    const answer = this.answer(inst, sub);
    if (answer === undefined) send(404, 'Not Found');
    else send(200, answer.body, answer.type);
    return true;
  }

  private answer(inst: InstanceRecord, path: string): { body: string; type?: string } | undefined {
    if (path === '/latest/user-data')
      return inst.userData
        ? { body: Buffer.from(inst.userData, 'base64').toString('utf8'), type: 'application/octet-stream' }
        : undefined;
    const prefix = '/latest/meta-data';
    if (!path.startsWith(prefix)) return undefined;
    const key = path.slice(prefix.length).replace(/^\//, '');
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
      return { body: [...top].sort().join('\n') };
    }
    const v = values[key];
    return v === undefined
      ? undefined
      : { body: v, type: key === 'spot/instance-action' ? 'application/json' : 'text/plain' };
  }
}
