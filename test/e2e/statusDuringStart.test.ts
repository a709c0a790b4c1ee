import t from 'tap';
import { repoPath } from '../fixtures/repoRoot.js';
import { distinctiveSleep, killProcessesWithArgv, processesWithArgv } from '../fixtures/strayProcesses.js';
import { waitFor } from '../fixtures/waitFor.js';
import { runToil, scratchDir, startToil } from '../fixtures/workflowCli.js';

/**
 * A job store whose leader is still in the workflow's start() has no workflow record yet (the
 * leader writes it once start() returns). `toil status` and `toil stats` said of it that it was
 * "interrupted while starting" while its leader ran on: they now name the leader starting it, and
 * say "interrupted" only once no leader holds the store.
 */
const MISBEHAVES = repoPath('test/fixtures/workflowMisbehaves.ts');

// Sized for a busy two-core machine; a hang still fails, later.
t.setTimeout(180_000);

t.test(
  "toil status and toil stats during a run's start(): the leader starting the workflow, not an interrupted start; once it is killed, interrupted",
  async (t) => {
    const dir = scratchDir(t);
    const sleep = ['sleep', distinctiveSleep()];
    t.teardown(() => killProcessesWithArgv(sleep));
    const run = startToil(['run', MISBEHAVES, 'file:./js', 'start-spawns-hangs', sleep[1]!], { cwd: dir });
    t.teardown(() => run.child.kill('SIGKILL'));
    await waitFor("start()'s two sleeps to run", () => processesWithArgv(sleep).length === 2, 60_000);
    const pid = run.child.pid!;

    const starting = new RegExp(
      `^job store file:\\./js: no workflow yet: the leader on \\S+ \\(pid ${pid}, generation 0\\) holds the store and is starting the workflow \\(its start\\(\\) is running\\)$`,
      'm',
    );
    const status = await runToil(['status', 'file:./js'], { cwd: dir });
    t.equal(status.code, 0, status.stderr);
    t.match(status.stdout, starting, 'status names the leader starting the workflow');
    t.notMatch(status.stdout, /interrupted/, 'and does not call the start interrupted');
    const json = await runToil(['status', 'file:./js', '--json'], { cwd: dir });
    t.match(JSON.parse(json.stdout), { leader: new RegExp(`pid ${pid}`) }, '--json carries the leader');
    const unfinished = await runToil(['status', 'file:./js', '--failIfNotComplete'], { cwd: dir });
    t.equal(unfinished.code, 1, '--failIfNotComplete: not complete');

    const stats = await runToil(['stats', 'file:./js'], { cwd: dir });
    t.equal(stats.code, 2, stats.stderr);
    t.match(
      stats.stderr,
      new RegExp(
        `^toil: job store file:\\./js holds no workflow yet: the leader on \\S+ \\(pid ${pid}, generation 0\\) holds the store and is starting the workflow \\(its start\\(\\) is running\\); no job has run$`,
        'm',
      ),
    );

    run.child.kill('SIGKILL');
    await run.done;
    const after = await runToil(['status', 'file:./js'], { cwd: dir });
    t.match(
      after.stdout,
      /^job store file:\.\/js: no workflow \(it was interrupted while starting\)$/m,
      'a leader killed in start(): interrupted while starting',
    );
    const statsAfter = await runToil(['stats', 'file:./js'], { cwd: dir });
    t.match(
      statsAfter.stderr,
      /^toil: job store file:\.\/js holds no workflow \(it was interrupted while starting\)$/m,
    );
  },
);
