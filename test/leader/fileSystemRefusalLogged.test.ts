import { realpath } from 'node:fs/promises';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { createLogger } from '../../src/common/log.js';
import { examineWorkflowFile } from '../../src/leader/workflowFileAccess.js';
import { heldRunsDaemon } from '../fixtures/heldRunsDaemon.js';
import { capturedLog } from '../fixtures/leaderFakes.js';
import { testDir } from '../fixtures/testDir.js';
import { REPO_ROOT } from '../fixtures/workflowCli.js';

/**
 * A submission refused because a file system it names did not answer (a hung mount) is the user's
 * condition, not the daemon's fault: the daemon's log says it in one line (its code, the path,
 * what did not answer), each time, with no stack trace, as the 503 says it to the submitter.
 */
const WORKFLOW = join(REPO_ROOT, 'test/fixtures/workflowMisbehaves.ts');
const BOUND_MS = 300;
const neverAnswers = new Promise<never>(() => {});

async function post(url: string, workflowFile: string, jobStore: string): Promise<Response> {
  return fetch(`${url}/workflows`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ workflowFile, jobStore, args: ['well'] }),
  });
}

t.test('a hung workflow file or job store mount is one log line per refusal, with no stack', async (t) => {
  const dir = testDir(t);
  const hung = join(dir, 'hung-mount');
  mkdirSync(join(dir, 'js'));
  const { destination, lines } = capturedLog();
  const { url } = await heldRunsDaemon(t, {
    log: createLogger({ level: 'debug', destination }),
    workflowFiles: {
      examine: (path) => (path.startsWith(hung) ? neverAnswers : examineWorkflowFile(path)),
      timeoutMs: BOUND_MS,
    },
    storeIdentity: {
      realpath: (path) => (path.startsWith(hung) ? neverAnswers : realpath(path)),
      timeoutMs: BOUND_MS,
    },
  });
  const hungWorkflow = join(hung, 'wf.ts');
  const hungStore = `file:${join(hung, 'js')}`;
  const refusals = [
    {
      posted: [hungWorkflow, `file:${join(dir, 'js')}`],
      line: {
        code: 'WORKFLOW_FILE_NOT_ANSWERING',
        workflowFile: hungWorkflow,
        msg: `workflowFile ${hungWorkflow}: its file system did not answer within 0.3 s (a hung or unreachable mount?); check the mount, then submit again`,
      },
    },
    {
      posted: [WORKFLOW, hungStore],
      line: {
        code: 'JOB_STORE_NOT_ANSWERING',
        jobStore: hungStore,
        msg: `jobStore ${hungStore}: its file system did not answer within 0.3 s (a hung or unreachable mount?); check the mount, then submit again`,
      },
    },
  ];
  for (const { posted, line } of refusals) {
    for (let i = 1; i <= 2; i++) {
      const before = lines.length;
      const r = await post(url, posted[0]!, posted[1]!);
      t.same(
        [r.status, await r.json()],
        [503, { error: line.msg }],
        `${line.code} #${i}: refused with a 503`,
      );
      const logged = lines.slice(before).filter((l) => l.level >= 40);
      t.equal(logged.length, 1, `${line.code} #${i}: one warning or error logged`);
      t.match(
        logged[0],
        { level: 40, ...line },
        `${line.code} #${i}: a warning with its code, path and message`,
      );
      const text = JSON.stringify(logged[0]);
      t.notMatch(text, /"err"|"stack"|\n\s+at /, `${line.code} #${i}: no error object, no stack trace`);
      t.notOk(line.msg.includes('\n'), `${line.code} #${i}: its message is one line`);
    }
  }
});
