import { randomUUID } from 'node:crypto';
import type { Clock } from '../common/clock.js';
import { processAlive, provablyGone as processProvablyGone, thisProcess } from '../common/processIdentity.js';
import {
  CorruptJobStoreError,
  JobStoreLeasedError,
  LeaseLostError,
  PreconditionFailedError,
} from './errors.js';
import type { LeaderRecord, LeaseHolder } from './jobRecords.js';
import type { ObjectStore } from './objectStore.js';
import { leaderShapeProblem, type Fields } from './recordShape.js';

/**
 * How long a lease lasts unless renewed. A leader renews every third of it, so two renewals in a
 * row may fail (S3 throttling, a slow disk, a long GC pause) before it lapses; and a leader killed
 * with -9 on another machine blocks `--restart` for at most this long. (On the same machine a
 * restart takes over at once: see `provablyGone`.)
 */
export const DEFAULT_LEASE_MS = 60_000;

export const LEADER_KEY = 'leader.json';

/** This process as a lease holder. `id` is fresh per lease, so two leaders in one process differ. */
export function localHolder(): LeaseHolder {
  return { id: randomUUID(), ...thisProcess() };
}

/**
 * Whether `holder` is provably dead (`provablyGone`: it ran on this machine, boot and pid
 * namespace, and its pid is free), so its lease may be taken before it expires. Anything less and
 * the lease must run out. A reused pid only makes us wait; it never lets two leaders in.
 */
export function provablyGone(
  holder: LeaseHolder,
  me: LeaseHolder,
  isAlive: (pid: number) => boolean = processAlive,
): boolean {
  return processProvablyGone(holder, me, isAlive);
}

export function describeHolder(holder: LeaseHolder, generation: number): string {
  // A `toil run --provisioner aws` leads through a daemon of its own; the user knows it as a run.
  if (holder.daemon?.run)
    return `the toil run --provisioner aws on ${holder.host} (pid ${holder.pid}, generation ${generation})`;
  if (holder.daemon)
    return `the leader daemon on ${holder.host} (pid ${holder.pid}, workflow ${holder.daemon.workflowId}, generation ${generation})`;
  return `the leader on ${holder.host} (pid ${holder.pid}, generation ${generation})`;
}

export interface LeaseOptions {
  readonly clock: Clock;
  readonly holder?: LeaseHolder;
  readonly ttlMs?: number;
  readonly isAlive?: (pid: number) => boolean;
}

/**
 * One leader's claim on a job store: `leader.json` names the holder, the generation it runs and
 * when the claim expires. Taken and renewed only by conditional writes (If-None-Match: * for the
 * first, If-Match: the etag it last wrote after that), so of two leaders racing exactly one wins,
 * and a holder whose lease was taken over finds out at its next write of the record.
 *
 * Fencing: the lease's `fence()` throws `LeaseLostError` once the lease has lapsed on this
 * leader's clock or a renewal was refused; the job store calls it before every write a leader
 * makes (tickets, deletions, the framework id, destroy). Before the writes that cannot be undone
 * (`finish`, `--clean`), `confirm()` renews, so the store itself refuses a stale holder.
 */
export class JobStoreLease {
  readonly generation: number;
  readonly holder: LeaseHolder;
  private readonly objects: ObjectStore;
  private readonly clock: Clock;
  private readonly ttlMs: number;
  private etag: string;
  private expires: number;
  private lost: LeaseLostError | undefined;
  private released = false;
  private releasing: Promise<boolean> | undefined;
  /** The store is being destroyed by this leader (its clean): renewing is over, not failed. */
  private retired = false;
  private renewals: Promise<void> = Promise.resolve();
  /**
   * Why the last renewal did not go through, while it has not (a renewal the store has not
   * answered yet, or one it failed): a lapse then is the store's outage, said so to the user.
   */
  private storeTrouble: string | undefined;

  private constructor(
    objects: ObjectStore,
    o: {
      clock: Clock;
      ttlMs: number;
      holder: LeaseHolder;
      generation: number;
      etag: string;
      expiresAt: number;
    },
  ) {
    this.objects = objects;
    this.clock = o.clock;
    this.ttlMs = o.ttlMs;
    this.holder = o.holder;
    this.generation = o.generation;
    this.etag = o.etag;
    this.expires = o.expiresAt;
  }

  /**
   * Takes the lease with the next generation (0 for the first leader). Throws
   * `JobStoreLeasedError` (a user error: one line, exit 2) naming the holder and its expiry if
   * another leader holds an unexpired lease and is not provably gone.
   */
  static async acquire(objects: ObjectStore, o: LeaseOptions): Promise<JobStoreLease> {
    const holder = o.holder ?? localHolder();
    const ttlMs = o.ttlMs ?? DEFAULT_LEASE_MS;
    for (;;) {
      const current = await readLeaseRecord(objects, ttlMs);
      const record = current?.record;
      const now = o.clock.now();
      if (record && heldByAnother(record, now, holder, o.isAlive)) throw leasedError(objects.locator, record);
      const generation = record ? record.generation + 1 : 0;
      const expiresAt = now + ttlMs;
      const next: LeaderRecord = { format: 1, generation, holder, expiresAt };
      let etag: string;
      try {
        etag = (
          await objects.put(
            LEADER_KEY,
            JSON.stringify(next),
            current ? { ifMatch: current.etag } : { ifNoneMatch: '*' },
          )
        ).etag;
      } catch (e) {
        if (e instanceof PreconditionFailedError) continue; // another leader moved first: look again
        throw e;
      }
      // Where conditions are not enforced (s3rver), read back: the last of two racers wins there.
      if (!(await objects.enforcesConditions())) {
        const back = await objects.get(LEADER_KEY);
        const mine = back && parseLeaderRecord(objects.locator, back.body);
        if (mine?.holder?.id !== holder.id) continue;
      }
      return new JobStoreLease(objects, { clock: o.clock, ttlMs, holder, generation, etag, expiresAt });
    }
  }

  get expiresAt(): number {
    return this.expires;
  }

  /** Lost (taken over, or lapsed on this leader's clock): nothing is left to renew or release. */
  get isLost(): boolean {
    return this.lost !== undefined;
  }

  /** Throws LeaseLostError if this leader may no longer write (lapsed on its clock, or taken). */
  fence(): void {
    if (this.lost) throw this.lost;
    if (this.clock.now() >= this.expires) {
      const expired = `it expired at ${new Date(this.expires).toISOString()}`;
      this.lost =
        this.storeTrouble === undefined
          ? new LeaseLostError(this.objects.locator, `${expired} before it could be renewed`)
          : new LeaseLostError(this.objects.locator, `${expired}: ${this.storeTrouble}`, true);
      throw this.lost;
    }
  }

  /**
   * Extends the lease by a full term with a conditional write on the record this leader last
   * wrote. Throws LeaseLostError if another leader changed it (the store refused the write).
   */
  renew(): Promise<void> {
    // One at a time: two renewals in flight would both carry the same etag, and the loser would
    // read its own leader's write as a take-over.
    const next = this.renewals.catch(() => {}).then(() => this.renewOnce());
    this.renewals = next;
    return next;
  }

  private async renewOnce(): Promise<void> {
    this.fence();
    const expiresAt = this.clock.now() + this.ttlMs;
    const record: LeaderRecord = { format: 1, generation: this.generation, holder: this.holder, expiresAt };
    const sentAt = new Date(this.clock.now()).toISOString();
    this.storeTrouble ??= `the job store did not answer the renewal sent at ${sentAt}`;
    try {
      this.etag = (await this.objects.put(LEADER_KEY, JSON.stringify(record), { ifMatch: this.etag })).etag;
      this.expires = expiresAt;
      this.storeTrouble = undefined;
    } catch (e) {
      if (e instanceof PreconditionFailedError) {
        this.lost = new LeaseLostError(
          this.objects.locator,
          "another leader took the job store over (the store refused this leader's conditional write)",
        );
        throw this.lost;
      }
      this.storeTrouble = `the job store failed its renewal at ${sentAt}: ${e instanceof Error ? e.message : String(e)}`;
      throw e;
    }
  }

  /** Renews now, so the store itself confirms this leader still holds the lease. */
  confirm(): Promise<void> {
    return this.renew();
  }

  /**
   * This leader is about to destroy the store (its clean): no renewal is sent from now on, and
   * the one in flight has been answered when this resolves. One landing during the deletion or
   * after it writes `leader.json` back where the store does not enforce If-Match (s3rver, some
   * S3-compatible servers): a bucket that will not delete ("bucket not empty"), billed on after
   * its user asked for it gone.
   */
  async retire(): Promise<void> {
    this.retired = true;
    await this.renewals.catch(() => {});
  }

  /**
   * Renews every third of the term until `signal` aborts or the store is retired. A renewal the
   * store refuses, or failures (store unavailable, or any other) until the lease lapses, call
   * `onLost` once and end the loop. Never rejects: nothing awaits it until the run ends.
   */
  async keepRenewing(signal: AbortSignal, onLost: (e: LeaseLostError) => void): Promise<void> {
    const over = (): boolean => signal.aborted || this.released || this.retired;
    for (;;) {
      try {
        await this.clock.sleep(Math.floor(this.ttlMs / 3), signal);
      } catch {
        return; // aborted
      }
      if (over()) return;
      try {
        await this.renewWithinTerm(signal);
      } catch (e) {
        // A renewal that raced the store's own clean or the run's end failed for a reason that
        // no longer matters (ENOENT on a removed directory, NoSuchBucket).
        if (over()) return;
        if (e instanceof LeaseLostError) {
          onLost(e);
          return;
        }
        // Transient: try again next time round, unless the lease has run out meanwhile.
        if (this.clock.now() >= this.expires) {
          try {
            this.fence();
          } catch (lapsed) {
            onLost(lapsed as LeaseLostError);
            return;
          }
        }
      }
    }
  }

  /**
   * Renews, waiting for the store no longer than the lease lasts: a renewal still unanswered when
   * the lease lapses (a stalled endpoint takes the connection and never answers, and S3 calls carry
   * no deadline) is the lapse itself, thrown as `fence()` throws it, so the leader stops when its
   * lease ends rather than once the store answers again, which may be never.
   */
  private async renewWithinTerm(signal: AbortSignal): Promise<void> {
    const settled = new AbortController();
    const lapsed = this.clock
      .sleep(Math.max(0, this.expires - this.clock.now()), AbortSignal.any([signal, settled.signal]))
      .then(
        () => true,
        () => false, // the renewal settled first, or the run ended
      );
    try {
      if (await Promise.race([this.renew().then(() => false), lapsed])) this.fence();
    } finally {
      settled.abort();
    }
  }

  /**
   * Gives the lease up (the record keeps the generation and drops the holder), so the next
   * leader need not wait. Best effort: a lease already lost, or a store already destroyed, is fine.
   * Resolves true once the store names this leader no more (released now, or lost before), false
   * when the store refused the write or failed it. Called again, it answers with the first call.
   */
  release(): Promise<boolean> {
    this.releasing ??= this.releaseOnce();
    return this.releasing;
  }

  private async releaseOnce(): Promise<boolean> {
    if (this.lost) return true;
    this.released = true;
    // A renewal in flight carries the etag this write needs: the release follows it, or the
    // store would refuse one of the two as another leader's.
    await this.renewals.catch(() => {});
    if (this.lost) return true;
    const record: LeaderRecord = { format: 1, generation: this.generation };
    return this.objects.put(LEADER_KEY, JSON.stringify(record), { ifMatch: this.etag }).then(
      () => true,
      () => false,
    );
  }
}

/**
 * Whether `record` names a leader other than `me` whose lease has not expired at `now` and which
 * is not provably gone: while it does, no other leader may take the store, nor may it be deleted.
 */
function heldByAnother(
  record: LeaderRecord,
  now: number,
  me: LeaseHolder,
  isAlive?: (pid: number) => boolean,
): record is LeaderRecord & { holder: LeaseHolder; expiresAt: number } {
  return (
    record.holder !== undefined &&
    (record.expiresAt ?? 0) > now &&
    record.holder.id !== me.id &&
    !provablyGone(record.holder, me, isAlive)
  );
}

function leasedError(
  locator: string,
  record: LeaderRecord & { holder: LeaseHolder; expiresAt: number },
  expected?: string,
): JobStoreLeasedError {
  return new JobStoreLeasedError(
    locator,
    describeHolder(record.holder, record.generation),
    new Date(record.expiresAt).toISOString(),
    expected,
  );
}

/**
 * Throws `JobStoreLeasedError` (saying `expected`) while a live leader holds the store's lease:
 * what `toil clean` checks, so it never deletes a workflow from under its running leader. A
 * record that does not parse proves no leader and is let through: deleting is how a damaged store
 * is got rid of.
 */
export async function refuseWhileLeased(
  objects: ObjectStore,
  now: number,
  expected: string,
  isAlive?: (pid: number) => boolean,
): Promise<void> {
  let record: LeaderRecord | undefined;
  try {
    record = (await readLeaseRecord(objects))?.record;
  } catch (e) {
    if (e instanceof CorruptJobStoreError) return;
    throw e;
  }
  if (record && heldByAnother(record, now, localHolder(), isAlive))
    throw leasedError(objects.locator, record, expected);
}

/**
 * The lease record and its etag (undefined when no leader ever took the store). A damaged one (its
 * bytes not those written, or not a record) throws `CorruptJobStoreError` saying what that means
 * for a lease: who holds the store, and the generation a next leader must exceed, are lost with it,
 * so no leader may take the store over. A leader still running renews it within a third of its
 * term: its conditional write replaces the record when the damage left the etag it knows (a
 * body damaged behind an intact header) and is refused otherwise, which stops that leader.
 */
export async function readLeaseRecord(
  objects: ObjectStore,
  ttlMs: number = DEFAULT_LEASE_MS,
): Promise<{ record: LeaderRecord; etag: string } | undefined> {
  try {
    const current = await objects.get(LEADER_KEY);
    return current && { record: parseLeaderRecord(objects.locator, current.body), etag: current.etag };
  } catch (e) {
    if (!(e instanceof CorruptJobStoreError) || e.key !== LEADER_KEY) throw e;
    const locator = objects.locator;
    throw new CorruptJobStoreError(
      locator,
      e.reason,
      LEADER_KEY,
      `it is the store's lease record: which leader holds the store, and the generation a next leader must follow, cannot be read, so no leader may take the store over; a leader still running the workflow rewrites it within ${Math.ceil(ttlMs / 3000)} s, or stops, unable to renew its lease; if it stays damaged, none runs: restore ${LEADER_KEY}, or run 'toil clean ${locator}' and start the workflow again`,
    );
  }
}

export function parseLeaderRecord(locator: string, body: Buffer): LeaderRecord {
  let v: Fields;
  try {
    v = JSON.parse(body.toString('utf8')) as Fields;
    if (typeof v !== 'object' || v === null || v.format !== 1) throw new Error('unknown record format');
  } catch (e) {
    throw new CorruptJobStoreError(locator, `does not parse (${(e as Error).message})`, LEADER_KEY);
  }
  const problem = leaderShapeProblem(v);
  if (problem !== undefined) throw new CorruptJobStoreError(locator, problem, LEADER_KEY);
  return v as unknown as LeaderRecord;
}
