import { randomBytes } from 'node:crypto';

/** Temporary role credentials as an instance's metadata service hands them out. */
export interface RoleCredentials {
  readonly role: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken: string;
  readonly issuedAt: number;
  readonly expiresAt: number;
}

/** EC2 hands out role credentials valid for about six hours and renews them well before expiry. */
const LIFETIME_MS = 6 * 3600_000;
const RENEW_BEFORE_MS = 15 * 60_000;

const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

function keyId(): string {
  return `ASIA${[...randomBytes(16)].map((b) => UPPER[b % UPPER.length]).join('')}`;
}

/**
 * Issues per-instance role credentials, fresh random keys (the local S3 and IAM stand-ins check
 * no signature, so any keys work; what matters is that they come from here and nowhere else), and
 * counts how often each instance asked, so a test can tell that a node's processes used them.
 */
export class RoleCredentialIssuer {
  private readonly now: () => number;
  private readonly issued = new Map<string, RoleCredentials>();
  /** Every key issued, to its instance and role: who signed a request with it. */
  private readonly holders = new Map<string, { instanceId: string; role: string }>();
  /** Requests for credentials, per instance id. */
  readonly requests = new Map<string, number>();

  constructor(now: () => number) {
    this.now = now;
  }

  credentialsFor(instanceId: string, role: string): RoleCredentials {
    this.requests.set(instanceId, (this.requests.get(instanceId) ?? 0) + 1);
    const now = this.now();
    const prior = this.issued.get(instanceId);
    if (prior && prior.role === role && prior.expiresAt - RENEW_BEFORE_MS > now) return prior;
    const fresh: RoleCredentials = {
      role,
      accessKeyId: keyId(),
      secretAccessKey: randomBytes(30).toString('base64'),
      sessionToken: randomBytes(96).toString('base64'),
      issuedAt: now,
      expiresAt: now + LIFETIME_MS,
    };
    this.issued.set(instanceId, fresh);
    this.holders.set(fresh.accessKeyId, { instanceId, role });
    return fresh;
  }

  /** The instance and role a key was issued to, if it was issued here. */
  holderOf(accessKeyId: string): { instanceId: string; role: string } | undefined {
    return this.holders.get(accessKeyId);
  }

  /** The access key id last issued to the instance, if any. */
  accessKeyOf(instanceId: string): string | undefined {
    return this.issued.get(instanceId)?.accessKeyId;
  }
}
