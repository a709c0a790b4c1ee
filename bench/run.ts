/**
 * `npm run bench -- NAME`: runs one benchmark. Each module's default export is an async function
 * that prints JSON lines (one figure per line) on stdout.
 */
import { UserInputError } from '../src/common/errors.js';

const BENCHES: Readonly<Record<string, () => Promise<{ default: (args: string[]) => Promise<void> }>>> = {
  engine: () => import('./engine.js'),
  faults: () => import('./faults.js'),
  mesos: () => import('./mesos.js'),
  slurm: () => import('./slurm.js'),
  ec2Endpoint: () => import('./ec2Endpoint.js'),
  scaler: () => import('./scaler.js'),
  simulate: () => import('./simulate.js'),
  corpus: () => import('./corpus.js'),
  heldJobs: () => import('./heldJobs.js'),
};

const [name, ...args] = process.argv.slice(2);
const load = name ? BENCHES[name] : undefined;
if (!load) {
  process.stderr.write(`usage: npm run bench -- NAME [args]  (NAME: ${Object.keys(BENCHES).join(', ')})\n`);
  process.exitCode = 2;
} else {
  try {
    await (await load()).default(args);
  } catch (err) {
    // A bad argument or config is the user's to fix: one line, exit 2, no stack.
    if (!(err instanceof UserInputError)) throw err;
    process.stderr.write(`npm run bench -- ${name}: ${err.message}\n`);
    process.exitCode = 2;
  }
}
