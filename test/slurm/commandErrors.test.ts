import t from 'tap';
import { SlurmCommandError } from '../../src/slurm/cli.js';

t.test('what a failed Slurm command means: retry, settings to fix (one line), or a fault', async (t) => {
  const rows: [what: string, stderr: string, disposition: string][] = [
    ['controller away', 'sbatch: error: Unable to contact slurm controller (connect failure)', 'retry'],
    [
      'a partition it does not have',
      'sbatch: error: Batch job submission failed: Invalid partition name specified',
      'user',
    ],
    [
      'an account it does not have',
      'sbatch: error: Batch job submission failed: Invalid account or account/partition combination specified',
      'user',
    ],
    [
      'a QOS it does not have',
      'sbatch: error: Batch job submission failed: Invalid qos specification',
      'user',
    ],
    [
      'a constraint no node meets',
      'sbatch: error: Batch job submission failed: Requested node configuration is not available',
      'user',
    ],
    [
      'anything else',
      'sbatch: error: Batch job submission failed: Slurm temporarily unable to accept job',
      'fatal',
    ],
  ];
  for (const [what, stderr, disposition] of rows)
    t.equal(new SlurmCommandError('sbatch --parsable', stderr, 1).disposition, disposition, what);
});
