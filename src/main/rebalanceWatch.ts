/**
 * The worker's rebalance watch (`toil rebalance-watch`, its own unit in the node's user data):
 * EC2 tells a rebalance recommendation (elevated risk of a spot interruption, usually well ahead
 * of the two-minute notice) only to the instance itself, in its metadata at
 * `events/recommendations/rebalance` (404 until there is one). This polls that item and, once it
 * appears, tags its own instance `toil-rebalance-recommended` = the notice time with the
 * instance profile's credentials (the worker role may set that tag and no other). The leader
 * reads the tag with every other one (`listNodes`): no new work goes to the node (its running
 * jobs finish, new work gets other nodes, it retires once idle). Then the watch is done: a
 * recommendation is not withdrawn.
 *
 * Failures (the metadata service unreachable, CreateTags throttled or refused) are logged and
 * retried with a backoff capped at `maxBackoffMs`: the process does not exit on them, so systemd
 * never restarts it in a loop.
 */
import type { EC2Client } from '@aws-sdk/client-ec2';
import type { Clock } from '../common/clock.js';
import { coerceError, isAbortError, ToilError } from '../common/errors.js';
import type { Logger } from '../common/log.js';
import { REBALANCE_RECOMMENDED_TAG } from '../ports/provisioner.js';
import { ec2Sdk } from '../common/awsSdkPackages.js';
import type { Env } from './env.js';
import { InstanceMetadataClient } from './instanceMetadata.js';

export const REBALANCE_ITEM = 'meta-data/events/recommendations/rebalance';

export interface RebalanceWatchOptions {
  readonly env: Env;
  readonly clock: Clock;
  readonly log: Logger;
  /** Between two reads of the metadata (AWS suggests every 5 s). */
  readonly intervalMs: number;
  /** The first retry's wait; each further failure doubles it, up to `maxBackoffMs`. */
  readonly retryMs: number;
  readonly maxBackoffMs: number;
  /** Default: the instance's region, from its metadata. */
  readonly region?: string;
  /** Ends the watch (SIGTERM); the promise then resolves with `stopped`. */
  readonly signal?: AbortSignal;
}

export type RebalanceWatchResult =
  | { readonly outcome: 'tagged'; readonly instanceId: string; readonly noticeTime: string }
  | { readonly outcome: 'stopped' };

/** The recommendation's notice time, from the item's JSON (`{"noticeTime": "..."}`). */
export function noticeTimeOf(body: string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    parsed = undefined;
  }
  const time = (parsed as { noticeTime?: unknown } | undefined)?.noticeTime;
  if (typeof time !== 'string' || time === '')
    throw new ToilError('BAD_REBALANCE_NOTICE', `the rebalance recommendation has no noticeTime: ${body}`, {
      disposition: 'retry',
    });
  return time;
}

/** The wait before retry `failures` (1, 2, ...): doubling from `retryMs`, capped. */
export function retryDelayMs(
  failures: number,
  o: Pick<RebalanceWatchOptions, 'retryMs' | 'maxBackoffMs'>,
): number {
  return Math.min(o.maxBackoffMs, o.retryMs * 2 ** Math.min(30, Math.max(0, failures - 1)));
}

/**
 * An EC2 client signing with the SDK's default chain (on a node: the instance profile, from the
 * metadata service); `AWS_ENDPOINT_URL_EC2` names a local endpoint. Unlike the cluster
 * utilities' client, never placeholder keys: the tag must be set with the node's own role.
 */
async function nodeEc2Client(region: string, env: Env): Promise<EC2Client> {
  // Loaded once there is something to tag: an idle watch holds no AWS SDK.
  const { silenceAwsSdkNodeVersionWarning, AWS_CONNECT_TIMEOUT_MS } = await import('./awsClients.js');
  silenceAwsSdkNodeVersionWarning();
  const { EC2Client } = ec2Sdk();
  const endpoint = env.AWS_ENDPOINT_URL_EC2?.trim() || undefined;
  return new EC2Client({
    region,
    ...(endpoint ? { endpoint } : {}),
    requestHandler: { connectionTimeout: AWS_CONNECT_TIMEOUT_MS },
  });
}

export async function watchRebalance(o: RebalanceWatchOptions): Promise<RebalanceWatchResult> {
  const imds = new InstanceMetadataClient({ env: o.env, clock: o.clock });
  let ec2: EC2Client | undefined;
  let failures = 0;
  /** Waits (interval, or the backoff after a failure); false once the watch is stopped. */
  const pause = async (ms: number): Promise<boolean> => {
    try {
      await o.clock.sleep(ms, o.signal);
      return true;
    } catch (e) {
      if (isAbortError(e)) return false;
      throw e;
    }
  };
  const failed = async (e: unknown, doing: string): Promise<boolean> => {
    failures++;
    const waitMs = retryDelayMs(failures, o);
    const err = coerceError(e);
    // A ToilError's code, or the AWS error's (the SDK names its exceptions by their code).
    const code = (e as { code?: unknown }).code ?? err.name;
    o.log.warn(
      { err: { name: err.name, message: err.message }, code, failures, retryInMs: waitMs },
      `rebalance watch: ${doing} failed; retrying`,
    );
    return pause(waitMs);
  };
  let noticeTime: string | undefined;
  try {
    while (!o.signal?.aborted) {
      if (noticeTime === undefined) {
        try {
          const body = await imds.get(REBALANCE_ITEM);
          if (body !== undefined) {
            noticeTime = noticeTimeOf(body);
            failures = 0;
            o.log.info({ noticeTime }, 'rebalance recommended for this instance; tagging it');
            continue;
          }
          failures = 0;
        } catch (e) {
          if (!(await failed(e, 'reading the instance metadata'))) break;
          continue;
        }
        if (!(await pause(o.intervalMs))) break;
        continue;
      }
      try {
        const instanceId = await imds.require('meta-data/instance-id');
        const region = o.region ?? (await imds.require('meta-data/placement/region'));
        ec2 ??= await nodeEc2Client(region, o.env);
        const { CreateTagsCommand } = ec2Sdk();
        await ec2.send(
          new CreateTagsCommand({
            Resources: [instanceId],
            Tags: [{ Key: REBALANCE_RECOMMENDED_TAG, Value: noticeTime }],
          }),
          ...(o.signal ? [{ abortSignal: o.signal }] : []),
        );
        o.log.info(
          { instanceId, tag: REBALANCE_RECOMMENDED_TAG, noticeTime },
          'instance tagged rebalance-recommended',
        );
        return { outcome: 'tagged', instanceId, noticeTime };
      } catch (e) {
        if (o.signal?.aborted) break;
        if (!(await failed(e, `tagging the instance ${REBALANCE_RECOMMENDED_TAG}`))) break;
      }
    }
    return { outcome: 'stopped' };
  } finally {
    ec2?.destroy();
  }
}
