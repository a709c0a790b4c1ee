import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { REPO_ROOT, TOIL_BIN, scratchDir } from '../fixtures/workflowCli.js';

/**
 * `toil run … 2>&1 | head -n 1`: the reader of the run's output goes away after its first line.
 * The next write failed with EPIPE, which reached the run's handler of stray errors from the
 * workflow's code; its warning, written to the same broken stream, failed again: the leader spun
 * at full CPU for ever and SIGTERM never got a turn. The run goes on without its output and ends
 * as it would have.
 */
t.setTimeout(120_000);

t.test('a run whose output reader is gone finishes its workflow and exits 0', async (t) => {
  const dir = scratchDir(t);
  const child = spawn(
    process.execPath,
    [
      TOIL_BIN,
      'run',
      join(REPO_ROOT, 'examples/fanout.ts'),
      'file:./js',
      '--jobs',
      '40',
      '--logLevel',
      'info',
    ],
    {
      cwd: dir,
      env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  t.teardown(() => child.kill('SIGKILL'));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  // Both streams' readers leave after the first line, as `2>&1 | head -n 1` does.
  await new Promise<void>((resolve) => child.stderr.once('data', () => resolve()));
  child.stderr.destroy();
  child.stdout.destroy();
  const timedOut = new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), 90_000).unref());
  const code = await Promise.race([exited, timedOut]);
  t.equal(code, 0, 'the workflow finished: exit 0, not a hang');
  t.notOk(existsSync(join(dir, 'js')), 'its job store removed on success, as a run with its output does');
});
