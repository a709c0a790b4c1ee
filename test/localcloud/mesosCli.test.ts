import t from 'tap';
import { spawn } from 'node:child_process';
import { TOIL_BIN } from '../fixtures/workflowCli.js';

/** Runs the built CLI until `done(stdout)` says so (or 15 s), then SIGTERMs it; resolves with its output and code. */
function runUntil(
  args: string[],
  done: (out: string) => boolean,
): Promise<{ out: string; code: number | null }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [TOIL_BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const timer = setTimeout(() => child.kill('SIGTERM'), 15_000);
    const onData = (d: Buffer): void => {
      out += d.toString();
      if (done(out)) child.kill('SIGTERM');
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ out, code });
    });
  });
}

t.test(
  'toil localcloud mesos: its own flags reach it (not the parent command), and SIGTERM stops it cleanly',
  async (t) => {
    const r = await runUntil(
      ['localcloud', 'mesos', '--port', '0', '--host', '127.0.0.1', '--logLevel', 'error'],
      (out) => /listening on http:\/\/127\.0\.0\.1:\d+/.test(out),
    );
    t.match(r.out, /Mesos master listening on http:\/\/127\.0\.0\.1:\d+/);
    t.notMatch(r.out, /"level":30/, '--logLevel error was honoured: no info lines');
    t.equal(r.code, 0);
  },
);

t.test('toil localcloud agent: bad attributes are one clear line and exit 2', async (t) => {
  const r = await runUntil(
    ['localcloud', 'agent', '--master', '127.0.0.1:1', '--attributes', 's:{a,b}'],
    () => false,
  );
  t.equal(r.code, 2);
  t.equal(r.out.trim(), "toil: --attributes: 's' is a SET, which attributes cannot be");
});
