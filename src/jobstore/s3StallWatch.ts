import type { S3Client } from '@aws-sdk/client-s3';
import { Readable } from 'node:stream';
import type { Clock } from '../common/clock.js';
import type { Logger } from '../common/log.js';
import { DEFAULT_LEASE_MS } from './lease.js';

/** How long an S3 call may go unanswered before the user is told the run is waiting on it. */
export const S3_STALL_WARN_MS = 5_000;
/** The upload rate a body is assumed to go out at, at worst (1 MiB/s) before a call counts as silent. */
export const SLOW_UPLINK_BYTES_PER_S = 2 ** 20;
/** While S3 stays silent, the warning is repeated this often, with the time waited so far. */
export const S3_STALL_REPEAT_MS = 15_000;
/** How often a body being read is looked at for bytes come in. */
const BODY_POLL_MS = 1_000;

export interface S3StallWatchOptions {
  /** The endpoint the client talks to, as the user would recognise it (named in the warning). */
  readonly endpoint: string;
  readonly bucket: string;
  readonly log: Logger;
  readonly clock: Clock;
  readonly warnAfterMs?: number;
  readonly repeatMs?: number;
  /**
   * Who waits, as the warning names it: a command that only reads the store (`toil status`) has
   * no lease to lose, and its user's way out is Ctrl-C. Unset: the leader of a run.
   */
  readonly waiter?: string;
}

/**
 * Warns when S3 stops answering. The SDK's calls carry no deadline of their own, and none is set
 * on purpose: a conditional write (the lease's If-Match renewal) cut off by a client timeout may
 * still be carried out by a stalled server once it wakes, and the retry would then read the
 * leader's own write as a take-over. So a stall is waited out, and what a user needs is to know
 * that the run sits still because of S3: a WARN once a call has gone unanswered for `warnAfterMs`
 * (repeated every `repeatMs` while the stall lasts), naming the endpoint and the call, and an INFO
 * when S3 answers again. One stall is one warning, however many calls are waiting on it.
 *
 * The watch wraps the whole call, retries included (the initialize step), and then the reading of
 * the body the call returned (GetObject's), to its end.
 */
export function watchS3Stalls(client: S3Client, options: S3StallWatchOptions): void {
  const warnAfterMs = options.warnAfterMs ?? S3_STALL_WARN_MS;
  const repeatMs = options.repeatMs ?? S3_STALL_REPEAT_MS;
  const { clock, endpoint, bucket, waiter } = options;
  const log = options.log.child({ component: 'jobstore.s3' });
  /** The stall the user was told of: when its oldest waiting call was sent, and when last said. */
  let stall: { since: number; lastWarned: number } | undefined;
  /** Each call's response body as its connection delivers it, by the call's context. */
  const responseBodies = new WeakMap<object, Readable>();

  /** Says the stall the user is told of (once, then every `repeatMs`): `operation` waited since `sentAt`. */
  const warnStalled = (operation: string, sentAt: number): void => {
    const now = clock.now();
    if (stall !== undefined && now - stall.lastWarned < repeatMs) return;
    stall = { since: Math.min(stall?.since ?? sentAt, sentAt), lastWarned: now };
    const waited = Math.round((now - stall.since) / 1000);
    const consequence =
      waiter === undefined
        ? `the leader waits for it (once it holds the job store, a leader whose store stays silent for ${DEFAULT_LEASE_MS / 1000} s loses its lease and stops; before, Ctrl-C stops the wait)`
        : `${waiter} waits for it (Ctrl-C stops the wait)`;
    log.warn(
      `S3 at ${endpoint} has not answered ${operation} on bucket ${bucket} for ${waited} s: ${consequence}; check that the endpoint is up and reachable`,
    );
  };

  /** S3 answered: the stall the user was told of, if any, is over. */
  const answered = (): void => {
    if (stall === undefined) return;
    const waited = Math.round((clock.now() - stall.since) / 1000);
    stall = undefined;
    log.info(
      `S3 at ${endpoint} answers again (it was silent for ${waited} s); ${waiter ?? 'the leader'} goes on`,
    );
  };

  const watch = async (
    operation: string,
    sentAt: number,
    done: AbortSignal,
    silentAfterMs: number,
  ): Promise<void> => {
    try {
      await clock.sleep(silentAfterMs, done);
      for (;;) {
        warnStalled(operation, sentAt);
        await clock.sleep(repeatMs, done);
      }
    } catch {
      // `done` aborted: the call has ended.
    }
  };

  /**
   * A response's body comes after its headers, which end the call's own watch: a server that
   * stops in the middle of it leaves its reader waiting as silently. The body is watched until
   * it ends, by the bytes its connection has read: none for `warnAfterMs`, with none of them left
   * unread, is a stall.
   */
  const watchBody = async (operation: string, body: Readable): Promise<void> => {
    const socket = (body as { socket?: { bytesRead?: number } | null }).socket;
    if (!socket || typeof socket.bytesRead !== 'number' || body.readableEnded || body.destroyed) return;
    const ended = new AbortController();
    const end = (): void => ended.abort();
    let complete = false;
    body.once('end', () => {
      complete = true;
      end();
    });
    body.once('close', end).once('error', end);
    let seen = socket.bytesRead;
    let quietSince = clock.now();
    let wasHeldByReader = false;
    let silent = false;
    try {
      for (;;) {
        await clock.sleep(Math.min(BODY_POLL_MS, warnAfterMs), ended.signal);
        // Bytes the reader has not taken yet mean the connection waits on the reader (its buffer
        // full, the socket paused), not on S3: a reader pausing in a body is no S3 stall. Once
        // it takes them, the connection's quiet counts from then, not from the last look.
        const heldByReader = body.readableLength > 0;
        if (socket.bytesRead !== seen || heldByReader || wasHeldByReader) {
          seen = socket.bytesRead;
          quietSince = clock.now();
          wasHeldByReader = heldByReader;
          if (silent) answered();
          silent = false;
        } else if (clock.now() - quietSince >= warnAfterMs) {
          silent = true;
          warnStalled(`${operation} (the rest of its body)`, quietSince);
        }
      }
    } catch {
      // The body ended (read to its end, or destroyed): nothing is waiting on it any more, and
      // one read to its end after a silence is S3 answering again.
      if (silent && complete) answered();
    }
  };

  client.middlewareStack.add(
    (next, context) => async (args) => {
      const operation = context.commandName?.replace(/Command$/, '') ?? 'a request';
      const done = new AbortController();
      // A call that sends a body is not silent while the body is still going out: it gets the
      // time to send it at a slow uplink's pace on top (a multipart part on a home connection).
      const length = (args.input as { ContentLength?: unknown }).ContentLength;
      const sending = typeof length === 'number' ? (length / SLOW_UPLINK_BYTES_PER_S) * 1000 : 0;
      void watch(operation, clock.now(), done.signal, warnAfterMs + sending);
      let heard = true;
      try {
        const result = await next(args);
        const body = responseBodies.get(context);
        if ((result.output as { Body?: unknown }).Body !== undefined && body !== undefined) {
          const key = (args.input as { Key?: unknown }).Key;
          void watchBody(typeof key === 'string' ? `${operation} of ${key}` : operation, body);
        }
        return result;
      } catch (e) {
        // An error S3 sent is an answer; a dropped or refused connection is not.
        heard = (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode !== undefined;
        throw e;
      } finally {
        done.abort();
        if (heard) answered();
      }
    },
    { step: 'initialize', name: 'toilWatchS3Stalls', priority: 'high' },
  );

  // The body a call hands back is not always the connection's own: with the object's SHA-256 in
  // the headers (S3 sends it for every object stored with one, as toil-ts's are) the SDK wraps it
  // in a stream that checks it, which has no socket to watch. The innermost step sees the
  // response as it came off the connection.
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const result = await next(args);
      const body = (result.response as { body?: unknown }).body;
      if (body instanceof Readable) responseBodies.set(context, body);
      return result;
    },
    { step: 'deserialize', name: 'toilS3ResponseBody', priority: 'low' },
  );
}
