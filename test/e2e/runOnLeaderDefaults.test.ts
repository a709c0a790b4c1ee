import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { REPO_ROOT, runToil, scratchDir } from '../fixtures/workflowCli.js';

/**
 * `toil run … --leader URL` hands the leader what a job declaring nothing gets: Toil's
 * --defaultCores, --defaultMemory and --defaultDisk hold on the leader as in a local run (a job of
 * `{}` asking 100G runs nowhere smaller), not silently the leader's 1 core / 2 GiB / 2 GiB. A
 * stand-in leader on 127.0.0.1 records the submission and refuses it, so the command ends at once.
 */
t.setTimeout(120_000);

const SORT = join(REPO_ROOT, 'examples/sort.ts');

async function recordingLeader(t: Test): Promise<{ url: string; bodies: unknown[] }> {
  const bodies: unknown[] = [];
  const server = createServer((req, res) => {
    let text = '';
    req.on('data', (c: Buffer) => (text += c.toString('utf8')));
    req.on('end', () => {
      bodies.push(JSON.parse(text));
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: 'recorded' }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => void server.close());
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, bodies };
}

t.test('--defaultCores/--defaultMemory/--defaultDisk travel with the submission', async (t) => {
  const dir = scratchDir(t);
  const { url, bodies } = await recordingLeader(t);
  const r = await runToil(
    [
      ...['run', SORT, `file:${dir}/js`, '--leader', url, '--leaderToken', 'x'],
      ...['--defaultCores', '3', '--defaultMemory', '100G', '--defaultDisk', '7Gi'],
    ],
    { cwd: dir },
  );
  t.equal(r.code, 2, 'the refusal is reported');
  t.match(r.stderr, /refused the workflow: recorded/);
  // As in Toil, G is 10^9 bytes and Gi 2^30.
  t.match(bodies, [{ defaults: { cores: 3, memory: 100_000_000_000, disk: 7 * 2 ** 30 } }]);
});

t.test("without them nothing is sent: the leader's defaults are Toil's", async (t) => {
  const dir = scratchDir(t);
  const { url, bodies } = await recordingLeader(t);
  const r = await runToil(['run', SORT, `file:${dir}/js`, '--leader', url, '--leaderToken', 'x'], {
    cwd: dir,
  });
  t.equal(r.code, 2);
  t.equal(bodies.length, 1);
  t.notOk('defaults' in (bodies[0] as object), 'no defaults field');
});
