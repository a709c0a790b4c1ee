import { forEachLimited } from '../common/forEachLimited.js';
import type { JobSpec, JobTicket } from '../jobstore/jobRecords.js';
import { commitKey, CorruptJobStoreError, TICKETS_PREFIX, type JobStore } from '../jobstore/jobStore.js';
import { storeDamageRemedy } from './damageRemedy.js';
import { declaredJobs } from './declaredJobs.js';

/** A ticket that cannot be read, said as `toil status` says it. */
export interface DamagedTicket {
  readonly jobId: string;
  readonly error: CorruptJobStoreError;
  /**
   * Its job's name, from the job's declaration (the ticket's own cannot be read): undefined when
   * that cannot be read either (its declaring commit is damaged, or a checkpoint's rerun dropped it).
   */
  readonly name: string | undefined;
}

/** The tickets of a store: those read, by job id, and those damaged, in key order. */
export interface TicketScan {
  readonly tickets: ReadonlyMap<string, JobTicket>;
  readonly damaged: readonly DamagedTicket[];
}

/**
 * Reads the tickets of `ids` (a lookup by name reads them all, names being inside the tickets). A
 * damaged one is set aside rather than stopping the scan: one bad ticket must not keep the others'
 * jobs from being found.
 */
export async function scanTickets(store: JobStore, ids: readonly string[]): Promise<TicketScan> {
  const tickets = new Map<string, JobTicket>();
  const errors = new Map<string, CorruptJobStoreError>();
  await forEachLimited(ids, 16, async (id) => {
    try {
      const t = await store.readTicket(id);
      if (t) tickets.set(id, t);
    } catch (e) {
      const remedied = await withTicketRemedy(store, e);
      if (!(remedied instanceof CorruptJobStoreError) || remedied.key !== `${TICKETS_PREFIX}${id}`)
        throw remedied;
      errors.set(id, remedied);
    }
  });
  // A damaged record only leaves the jobs it declared unnamed.
  const specs = errors.size > 0 ? (await declaredJobs(store)).specs : new Map<string, JobSpec>();
  const damaged = [...errors.keys()]
    .sort()
    .map((jobId) => ({ jobId, error: errors.get(jobId)!, name: specs.get(jobId)?.name }));
  return { tickets, damaged };
}

/** The ticket of job `id`; one that is damaged is said as `toil status` says it (withTicketRemedy). */
export async function readTicketSaid(store: JobStore, id: string): Promise<JobTicket | undefined> {
  return store.readTicket(id).catch(async (e: unknown) => {
    throw await withTicketRemedy(store, e);
  });
}

/**
 * A damaged ticket stops debug-job of its job (it cannot be run without it) but is said as `toil
 * status` lists it: a ticket is a record a run writes again or, once its job ran, one nothing needs
 * and deleting it is all that is left to do. Restoring it, or `toil clean`, would be advice to throw
 * the workflow's progress away.
 */
async function withTicketRemedy(store: JobStore, e: unknown): Promise<unknown> {
  if (!(e instanceof CorruptJobStoreError) || !e.key?.startsWith(TICKETS_PREFIX)) return e;
  const ran = (await store.objects.head(commitKey(e.key.slice(TICKETS_PREFIX.length)))) !== undefined;
  const remedy = storeDamageRemedy(store, e.key, () => ran);
  return remedy === undefined ? e : new CorruptJobStoreError(store.locator, e.reason, e.key, remedy);
}

/**
 * The line said on stderr when the job was found with other tickets damaged: they did not stop
 * the lookup, yet the user is to know of them, and whether one could be another job of the name.
 */
export function passedOverNotice(locator: string, query: string, damaged: readonly DamagedTicket[]): string {
  const n = damaged.length;
  const unnamed = damaged.filter((d) => d.name === undefined).length;
  return (
    `${n} other ${n === 1 ? 'ticket' : 'tickets'} of job store ${locator} ${n === 1 ? 'is' : 'are'} damaged and could not be read ('toil status ${locator}' lists ${n === 1 ? 'it' : 'them'})` +
    (unnamed === 0
      ? ''
      : `; the job ${unnamed === 1 ? 'name of 1 of them' : `names of ${unnamed} of them`} cannot be told, so '${query}' may name another job too: give a job id to be sure`)
  );
}

/**
 * A lookup that found no sound ticket of `query` while the `unnamed` damaged tickets, whose jobs'
 * names cannot be told, could hold it: said as the first of them is, then why it stopped the lookup.
 */
export function notAmongSoundTickets(
  locator: string,
  query: string,
  unnamed: readonly DamagedTicket[],
): CorruptJobStoreError {
  const n = unnamed.length;
  return new LookupStoppedError(
    locator,
    unnamed[0]!.error,
    `job '${query}' not found among the sound tickets; ${n} damaged ${n === 1 ? 'ticket' : 'tickets'} could not be read, whose ${n === 1 ? 'job' : 'jobs'} may be it ('toil status ${locator}' lists ${n === 1 ? 'it' : 'them'})`,
  );
}

/** A damaged object's error that stopped a lookup, and what the lookup could not tell because of it. */
export class LookupStoppedError extends CorruptJobStoreError {
  constructor(locator: string, damage: CorruptJobStoreError, stopped: string) {
    super(locator, damage.reason, damage.key);
    this.message = `${damage.message}; ${stopped}`;
  }
}
