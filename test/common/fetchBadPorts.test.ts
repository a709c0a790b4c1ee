import t from 'tap';
import { fetchBadPorts, isFetchBadPort } from '../../src/common/fetchBadPorts.js';

/**
 * The bad ports toil-ts refuses (for --leader's URL, the leader's own port) are the ones the
 * running Node's fetch refuses: each listed one is refused by fetch with "bad port" before any
 * connection, and its neighbours that are not listed are not (fetch tries them: refused, or
 * answered, never "bad port"). A Node whose list grew or shrank fails here.
 */

/** What fetch says of http://127.0.0.1:PORT/: "bad port", or that it tried (any other outcome). */
async function fetchVerdict(port: number): Promise<string> {
  try {
    await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(3_000) });
    return 'answered';
  } catch (e) {
    const cause = (e as { cause?: unknown }).cause;
    return cause instanceof Error && cause.message === 'bad port' ? 'bad port' : 'tried';
  }
}

t.test("every listed port is one Node's fetch refuses as a bad port", async (t) => {
  const listed = fetchBadPorts();
  t.ok(listed.length >= 80, `${listed.length} ports listed`);
  const notRefused: number[] = [];
  for (const port of listed) if ((await fetchVerdict(port)) !== 'bad port') notRefused.push(port);
  t.same(notRefused, [], 'fetch refused each of them');
});

t.test("the listed ports' unlisted neighbours are ones fetch tries to connect to", async (t) => {
  const neighbours = [
    ...new Set(
      fetchBadPorts()
        .flatMap((p) => [p - 1, p + 1])
        .filter((p) => p > 0 && !isFetchBadPort(p)),
    ),
  ];
  // Ports a leader is commonly given, too.
  neighbours.push(80, 443, 8080);
  const refused: number[] = [];
  for (const port of neighbours) if ((await fetchVerdict(port)) === 'bad port') refused.push(port);
  t.same(refused, [], `fetch tried each of ${neighbours.length} unlisted ports`);
  t.notOk(isFetchBadPort(0), 'port 0 (the leader picks a free port) is not refused');
});
