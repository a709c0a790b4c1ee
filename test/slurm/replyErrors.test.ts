import t from 'tap';
import { parseSinfoJson, parseSqueueJson } from '../../src/slurm/json.js';

/**
 * squeue and sinfo exit 0 when the controller does not answer, with an empty list and an `errors`
 * entry in their JSON. Read as a list, a running job was gone from it twice and was reported lost,
 * so the leader ran it again beside itself once the controller answered (the batch system's side:
 * test/slurm/submitRetry.test.ts).
 */
t.test("the error in a Slurm tool's JSON reply is a failed call, not an empty list", async (t) => {
  // The replies of Slurm 22.05 while its controller was stopped (SIGSTOP), as printed.
  const squeue = JSON.stringify({
    meta: { plugin: { type: 'openapi/v0.0.38' } },
    errors: [
      {
        description: 'Failed while looking for jobs',
        error_number: -1,
        error: 'Unspecified error',
        source: 'slurm_load_jobs',
      },
    ],
    jobs: [],
  });
  t.throws(() => parseSqueueJson(squeue), {
    code: 'SLURM_COMMAND_FAILED',
    disposition: 'retry',
    message:
      'squeue --json failed: Slurm reported slurm_load_jobs: Failed while looking for jobs: Unspecified error (the controller may not be answering)',
  });
  const sinfo = JSON.stringify({ errors: [{ error: 'Unspecified error', errno: -1 }], nodes: [] });
  t.throws(() => parseSinfoJson(sinfo), {
    code: 'SLURM_COMMAND_FAILED',
    message: 'sinfo --json failed: Slurm reported Unspecified error (the controller may not be answering)',
  });
  t.same(parseSqueueJson(JSON.stringify({ errors: [], jobs: [] })), [], 'no error: the list as it is');
});
