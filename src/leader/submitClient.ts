import type { Clock } from '../common/clock.js';
import { ToilError, UserInputError, coerceError } from '../common/errors.js';
import { badPortReason, isFetchBadPort } from '../common/fetchBadPorts.js';
import type { Submission, WorkflowRun } from './daemon.js';
import type { WorkflowProgress } from './workflowRunner.js';
import type { LostAttemptRecord } from '../jobstore/jobRecords.js';
import { NewLosses } from './newLosses.js';

/**
 * The client side of `toil run … --leader URL`: submits a workflow to a running `toil leader`
 * (POST /workflows) and follows it (GET /workflows/:id) until it ends.
 *
 * The daemon runs the workflow in its own process: it reads the workflow file and the job store
 * from where *it* runs. A caller on the leader's machine passes absolute paths (the CLI resolves
 * them); from elsewhere, copy the file to the leader first (`toil rsync-cluster`) and use a job
 * store both can reach (`aws:…`). A file the daemon cannot read is refused at submission (400),
 * which this client reports as a UserInputError (exit 2).
 */

export interface FollowOptions {
  readonly clock: Clock;
  /** How often the status is asked for. */
  readonly pollMs?: number;
  readonly onProgress?: (progress: WorkflowProgress) => void;
  /**
   * The attempts the run lost with their node that no earlier poll listed, the newest last, and how
   * many more it lost since that the leader no longer lists (see NewLosses).
   */
  readonly onLost?: (lost: readonly LostAttemptRecord[], unlisted: number) => void;
  /** Once, when the run is first seen to have taken its arguments (WorkflowRun.argsTaken). */
  readonly onArgsTaken?: () => void;
  /** Each record of the run the leader answers with, once its notices, losses and progress are passed on. */
  readonly onRun?: (run: WorkflowRun) => void;
  /** Each of the run's notices (WorkflowRun.notices) once, when first seen. */
  readonly onNotice?: (line: string) => void;
  readonly signal?: AbortSignal;
  /** The leader's bearer token (needed when its status routes are closed). */
  readonly token?: string;
  /**
   * The leader stopped answering (its first failed poll): it may be restarting, and the follow
   * waits `giveUpAfterMs` for it, so the person watching is told rather than shown nothing.
   */
  readonly onSilent?: (cause: Error, giveUpAfterMs: number) => void;
  /** The leader answers again after `onSilent`. */
  readonly onBack?: (silentForMs: number) => void;
}

export class LeaderUnreachableError extends UserInputError {
  constructor(url: string, cause: unknown, silentForMs?: number) {
    super(
      'LEADER_UNREACHABLE',
      silentForMs === undefined
        ? `--leader ${url}: cannot reach the leader (${coerceError(cause).message})`
        : `--leader ${url}: the leader has not answered for ${Math.round(silentForMs / 1000)} s ` +
            `(${coerceError(cause).message}); the workflow may still be running there`,
      { url, ...errnoOf(cause) },
    );
  }
}

/** The system error code of what failed (`ECONNREFUSED`), when it has one. */
function errnoOf(cause: unknown): { errorCode?: string } {
  const code = (cause as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? { errorCode: code } : {};
}

/**
 * The leader's URL as given to --leader, checked before any request: `127.0.0.1:8080` or
 * `localhost:8080` (no scheme) is refused naming the form, not reported as a leader that cannot be
 * reached (`Invalid URL`) or sent to a scheme fetch does not speak. So is one with a path, query or
 * fragment (the status address `toil leader` prints, `…/status`): the API's paths were joined to it
 * (`…/status/workflows`), which the leader answers 404.
 */
export function leaderBaseUrl(leaderUrl: string): string {
  let url: URL | undefined;
  try {
    url = new URL(leaderUrl);
  } catch {
    url = undefined;
  }
  if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.host === '') {
    const example = leaderUrl.includes('://') ? 'http://127.0.0.1:8080' : `http://${leaderUrl}`;
    throw new UserInputError(
      'BAD_FLAG',
      `--leader ${leaderUrl}: expected the leader's URL, http://HOST:PORT (e.g. ${example})`,
    );
  }
  if (url.pathname !== '/' || url.search !== '' || url.hash !== '' || /[?#]$/.test(leaderUrl))
    throw new UserInputError(
      'BAD_FLAG',
      `--leader ${leaderUrl}: expected the leader's URL, http://HOST:PORT, with no path, query or fragment (e.g. ${url.origin})`,
    );
  // fetch refuses these before connecting ("bad port"): said as such, at once, since no retry and
  // no leader started later can make the port answer.
  const port = Number(url.port);
  if (isFetchBadPort(port))
    throw new UserInputError(
      'LEADER_UNREACHABLE',
      `--leader ${leaderUrl}: ${badPortReason(port)}, so no leader can be reached there (expected the leader's URL as toil leader printed it: start the leader on another port with toil leader --port N)`,
      { url: leaderUrl },
    );
  return leaderUrl.replace(/\/+$/, '');
}

/**
 * How a submission waits out a leader restarting: one answering 503 with LEADER_NOT_TAKING (it is
 * starting or stopping, and kept nothing of the submission) or refusing the connection (between
 * its stop and its next start). Either way nothing was taken, so sending it again is safe.
 */
export interface SubmitRetry {
  readonly clock: Clock;
  /** How long after the first such answer it is sent again; then that answer's error is thrown. */
  readonly forMs: number;
  /** Said once, at the first such answer: what the leader answered. */
  readonly onRetrying?: (why: string) => void;
}

/** The first wait before a submission is sent again, doubled each time up to the most. */
const RETRY_FIRST_DELAY_MS = 250;
const RETRY_MAX_DELAY_MS = 5_000;

/**
 * How long refused connections are sent again while no leader has answered the submission yet:
 * a leader started just before (`toil leader &`, then `toil run --leader`: its port opened ~6 s
 * after its start on a loaded two-core machine) or between its stop and its next start is back
 * within this, and a URL nothing listens on (a wrong port, a leader not started) is said as such
 * then, not after the whole restart window. Once the leader has answered (a 503 as it stops), its
 * closed port is its restart, waited out.
 */
export const FIRST_CONTACT_REFUSED_MS = 10_000;

/** Nothing listens at --leader's URL, and nothing has answered there since the submission began. */
export class LeaderNotListeningError extends UserInputError {
  constructor(url: string, refusedForMs: number) {
    super(
      'LEADER_UNREACHABLE',
      `--leader ${url}: nothing listens there (connection refused for ${(refusedForMs / 1000).toFixed(1)} s) (expected a running toil leader at that URL: start one with 'toil leader', or give the URL it printed)`,
      { url, errorCode: 'ECONNREFUSED' },
    );
  }
}

/**
 * Submits; resolves with the run the daemon created. Throws UserInputError when it is refused,
 * after waiting out (with `retry`) a leader that is restarting.
 */
export async function submitWorkflow(
  leaderUrl: string,
  token: string | undefined,
  submission: Submission,
  retry?: SubmitRetry,
): Promise<WorkflowRun> {
  let since: number | undefined;
  let delayMs = RETRY_FIRST_DELAY_MS;
  /** When the first refused connection came, while no leader has answered yet. */
  let refusedSince: number | undefined;
  let answered = false;
  for (;;) {
    try {
      return await submitOnce(leaderUrl, token, submission);
    } catch (e) {
      const why = restartingAnswer(e);
      if (retry === undefined || why === undefined) throw e;
      const now = retry.clock.now();
      if (!isRefused(e)) answered = true;
      else if (!answered) {
        refusedSince ??= now;
        const refusedFor = now - refusedSince;
        const limit = Math.min(FIRST_CONTACT_REFUSED_MS, retry.forMs);
        if (refusedFor >= limit) throw new LeaderNotListeningError(leaderUrl, refusedFor);
        await retry.clock.sleep(Math.min(delayMs, limit - refusedFor));
        delayMs = Math.min(delayMs * 2, RETRY_MAX_DELAY_MS);
        continue;
      }
      if (since === undefined) {
        since = now;
        retry.onRetrying?.(why);
      }
      const left = since + retry.forMs - now;
      if (left <= 0) throw e;
      await retry.clock.sleep(Math.min(delayMs, left));
      delayMs = Math.min(delayMs * 2, RETRY_MAX_DELAY_MS);
    }
  }
}

/** A refused connection: nothing listens at the URL (now). */
function isRefused(e: unknown): e is LeaderUnreachableError {
  return e instanceof LeaderUnreachableError && e.details.errorCode === 'ECONNREFUSED';
}

/** What a leader restarting answered (a 503 LEADER_NOT_TAKING, a refused connection), else undefined. */
function restartingAnswer(e: unknown): string | undefined {
  if (!(e instanceof ToilError)) return undefined;
  const { leaderCode, why, errorCode } = e.details;
  if (e.code === 'LEADER_REFUSED' && leaderCode === 'LEADER_NOT_TAKING') return String(why);
  if (e instanceof LeaderUnreachableError && errorCode === 'ECONNREFUSED') return 'connection refused';
  return undefined;
}

async function submitOnce(
  leaderUrl: string,
  token: string | undefined,
  submission: Submission,
): Promise<WorkflowRun> {
  const { status, body, why } = await leaderRequest(leaderUrl, token, '/workflows', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(submission),
  });
  if (status === 202) return body;
  if (status === 400 || status === 409)
    throw new UserInputError('LEADER_REFUSED', `the leader at ${leaderUrl} refused the workflow: ${why}`);
  // A leader that is stopping, or could not take it (its store unreachable), says why: its words
  // are the news, not this client's stack.
  throw new UserInputError(
    'LEADER_REFUSED',
    `the leader at ${leaderUrl} refused the workflow (HTTP ${status}): ${why}`,
    { status, why, ...(typeof body.code === 'string' ? { leaderCode: body.code } : {}) },
  );
}

/**
 * Polls the run until it is no longer running; resolves with its final record. A leader that
 * stops answering for `giveUpAfterMs` (default 2 min) is an error: the workflow may still be running there.
 * One refusing to report it in a way waiting does not change (a 4xx: refusedForGood) is one at once.
 */
export async function followWorkflow(
  leaderUrl: string,
  id: string,
  options: FollowOptions & { giveUpAfterMs?: number },
): Promise<WorkflowRun> {
  const base = leaderBaseUrl(leaderUrl);
  const pollMs = options.pollMs ?? 500;
  const giveUpAfterMs = options.giveUpAfterMs ?? 120_000;
  let lastAnswerAt = options.clock.now();
  let silent = false;
  let argsTaken = false;
  let noticesSaid = 0;
  const losses = new NewLosses();
  for (;;) {
    let run: WorkflowRun | undefined;
    try {
      const res = await fetch(`${base}/workflows/${encodeURIComponent(id)}`, {
        headers: bearer(options.token),
        ...(options.signal ? { signal: options.signal } : {}),
      });
      if (res.status === 401) throw notAuthorised(leaderUrl, options.token, 'status needs the token');
      if (res.status === 404)
        throw new ToilError(
          'WORKFLOW_UNKNOWN',
          `the leader at ${leaderUrl} no longer knows workflow ${id} (was it restarted?)`,
          {
            disposition: 'fatal',
          },
        );
      if (!res.ok) {
        const answer = await errorAnswer(res);
        // A refusal waiting does not change (a Host the leader does not answer to: 421, a 403)
        // ends the follow now: waited out as silence, it held the client for 2 minutes.
        if (refusedForGood(res.status))
          throw new UserInputError(
            'LEADER_REFUSED',
            `the leader at ${leaderUrl} refused to report workflow ${id} (${answer})`,
            { url: leaderUrl, status: res.status },
          );
        // An error answer (a route that threw: 500) carries no run: it is waited out as silence
        // is, not taken for the run's end.
        throw new Error(answer);
      }
      run = (await res.json()) as WorkflowRun;
      if (silent) options.onBack?.(options.clock.now() - lastAnswerAt);
      silent = false;
      lastAnswerAt = options.clock.now();
    } catch (e) {
      if (e instanceof ToilError || options.signal?.aborted) throw e;
      const silentFor = options.clock.now() - lastAnswerAt;
      if (silentFor > giveUpAfterMs) throw new LeaderUnreachableError(leaderUrl, e, silentFor);
      if (!silent) options.onSilent?.(coerceError((e as { cause?: unknown }).cause ?? e), giveUpAfterMs);
      silent = true;
    }
    if (run) {
      if (run.argsTaken && !argsTaken) {
        argsTaken = true;
        options.onArgsTaken?.();
      }
      for (const line of run.notices?.slice(noticesSaid) ?? []) options.onNotice?.(line);
      noticesSaid = Math.max(noticesSaid, run.notices?.length ?? 0);
      const { fresh, unlisted } = losses.take(run);
      if (fresh.length > 0 || unlisted > 0) options.onLost?.(fresh, unlisted);
      if (run.progress) options.onProgress?.(run.progress);
      options.onRun?.(run);
      if (run.status !== 'running') return run;
    }
    await options.clock.sleep(pollMs, options.signal);
  }
}

/**
 * A client error (4xx) the same request meets again however long it waits; not 408 (the request
 * was slow), 425 or 429 (asked too early or too often), which waiting is the answer to.
 */
function refusedForGood(status: number): boolean {
  return status >= 400 && status < 500 && ![408, 425, 429].includes(status);
}

/** An error answer as said: its status and the leader's message, when it gives one. */
async function errorAnswer(res: Response): Promise<string> {
  const body = (await res.json().catch(() => ({}))) as { error?: unknown } | null;
  return `HTTP ${res.status}${typeof body?.error === 'string' ? `: ${body.error}` : ''}`;
}

/** Cancels a run (DELETE /workflows/:id); resolves with the run as the leader had it. */
export async function cancelWorkflow(
  leaderUrl: string,
  token: string | undefined,
  id: string,
): Promise<WorkflowRun> {
  const { status, body, why } = await leaderRequest(
    leaderUrl,
    token,
    `/workflows/${encodeURIComponent(id)}`,
    {
      method: 'DELETE',
    },
  );
  if (status === 202) return body;
  throw new UserInputError(
    'LEADER_REFUSED',
    `the leader at ${leaderUrl} did not cancel workflow ${id}: ${why}`,
  );
}

/** One request to the leader: its answer, with a 401 and an unreachable leader turned into errors. */
async function leaderRequest(
  leaderUrl: string,
  token: string | undefined,
  path: string,
  init: { method: string; headers?: Record<string, string>; body?: string },
): Promise<{ status: number; body: WorkflowRun & { error?: string; code?: unknown }; why: string }> {
  const base = leaderBaseUrl(leaderUrl);
  let res: Response;
  try {
    res = await fetch(`${base}${path}`, {
      ...init,
      headers: { ...init.headers, ...bearer(token) },
    });
  } catch (e) {
    throw new LeaderUnreachableError(leaderUrl, (e as { cause?: unknown }).cause ?? e);
  }
  const body = (await res.json().catch(() => undefined)) as (WorkflowRun & { error?: unknown }) | undefined;
  // A leader answers each of these routes with a JSON object, and an error with its `error`: an
  // answer without one is another server's (a proxy, another service on the port), whose status
  // alone ("refused the workflow (HTTP 501): HTTP 501") would read as the leader's refusal.
  if (typeof body !== 'object' || body === null || (!res.ok && typeof body.error !== 'string'))
    throw new UserInputError(
      'LEADER_NOT_TOIL',
      `the server at ${leaderUrl} answered HTTP ${res.status} and does not look like a toil-ts leader ` +
        `(${res.ok ? 'no JSON body' : 'no JSON error body'}): --leader takes the address \`toil leader\` prints as it starts`,
      { url: leaderUrl, status: res.status },
    );
  const why = typeof body.error === 'string' ? body.error : `HTTP ${res.status}`;
  if (res.status === 401) throw notAuthorised(leaderUrl, token, why);
  return { status: res.status, body: body as WorkflowRun & { error?: string }, why };
}

function bearer(token: string | undefined): Record<string, string> {
  return token === undefined ? {} : { authorization: `Bearer ${token}` };
}

function notAuthorised(leaderUrl: string, token: string | undefined, why: string): UserInputError {
  return new UserInputError(
    'LEADER_UNAUTHORISED',
    token === undefined
      ? `the leader at ${leaderUrl} needs its token: pass --leaderToken or set TOIL_LEADER_TOKEN (or TOIL_LEADER_TOKEN_FILE); it is in the leader's token file (http.auth.tokenFile, beside its state)`
      : `the leader at ${leaderUrl} refused the token given: ${why}`,
  );
}
