import t from 'tap';
import {
  commitShapeProblem,
  currentModuleShapeProblem,
  failureLogShapeProblem,
  leaderShapeProblem,
  lostMarkShapeProblem,
  mesosFrameworkShapeProblem,
  outcomeShapeProblem,
  runningShapeProblem,
  serviceStartedShapeProblem,
  serviceStopShapeProblem,
  slurmUseShapeProblem,
  ticketShapeProblem,
  workflowShapeProblem,
} from '../../src/jobstore/recordShape.js';

// Each record as a leader writes it, then with one field wrong: the problem names the field, its
// value and what was expected, and a record as written has none.
const OUTCOME = {
  format: 1,
  generation: 2,
  status: 'failed',
  at: 1,
  failedJobs: [{ jobId: 'j', name: 'n', error: 'e' }],
};
const RUNNING = {
  format: 1,
  generation: 0,
  at: 1,
  batchSystem: 'slurm',
  running: 1,
  waiting: 0,
  jobs: [{ jobId: 'j', name: 'n', attempt: 1, state: 'running', batchJobId: '7', node: 'n1', startedAt: 1 }],
};
const LOG = {
  format: 1,
  jobId: 'j',
  attempt: 1,
  name: 'n',
  error: 'e',
  logs: [{ level: 'info', message: 'm', time: 1 }],
  output: '',
};

const TICKET = {
  format: 1,
  workflowId: 'w',
  jobId: 'j',
  name: 'n',
  input: null,
  requirements: { cores: 1, memory: 2, disk: 3, preemptable: true },
  module: { key: 'module.mjs', etag: 'e', size: 4 },
};
const ticket = (r: Record<string, unknown>) => ticketShapeProblem(r, 'j');

const SPEC = {
  id: 'k',
  name: 'n',
  input: null,
  requirements: { memory: 2 },
  children: [],
  followOns: [],
};
const COMMIT = {
  format: 1,
  jobId: 'j',
  attempt: 1,
  returnValue: null,
  children: ['k'],
  followOns: [],
  services: [],
  newJobs: [SPEC],
  deletedFiles: [],
  logs: [{ level: 'info', message: 'm', time: 1 }],
  wallTimeMs: 5,
  cpuTimeMs: 4,
  peakRssBytes: 3,
  peakRssJobOnly: true,
  startRssBytes: 2,
};
const commit = (r: Record<string, unknown>) => commitShapeProblem(r, 'j');
const WORKFLOW = {
  format: 1,
  workflowId: 'w',
  createdAt: 1,
  workflowFile: 'sort.ts',
  rootJobId: 'k',
  jobs: [SPEC],
  module: TICKET.module,
  args: ['--numLines', '5'],
  options: { retryCount: 1, defaults: TICKET.requirements },
};

const rows: [
  string,
  (r: Record<string, unknown>) => string | undefined,
  Record<string, unknown>,
  string | undefined,
][] = [
  ['an outcome as written', outcomeShapeProblem, OUTCOME, undefined],
  [
    'a succeeded outcome with no failed jobs',
    outcomeShapeProblem,
    { ...OUTCOME, status: 'succeeded', failedJobs: [] },
    undefined,
  ],
  [
    'an outcome of another status',
    outcomeShapeProblem,
    { ...OUTCOME, status: 'done' },
    `does not hold a run's outcome: status is "done", not "succeeded" or "failed"`,
  ],
  [
    'an outcome whose generation is text',
    outcomeShapeProblem,
    { ...OUTCOME, generation: '2' },
    `does not hold a run's outcome: generation is "2", not a number`,
  ],
  [
    'an outcome whose failed jobs are no list',
    outcomeShapeProblem,
    { ...OUTCOME, failedJobs: 5 },
    `does not hold a run's outcome: failedJobs is 5, not a list of records`,
  ],
  [
    'an outcome with a failed job that is no record',
    outcomeShapeProblem,
    { ...OUTCOME, failedJobs: ['j'] },
    `does not hold a run's outcome: failedJobs[0] is "j", not a record`,
  ],
  ['a running record as written', runningShapeProblem, RUNNING, undefined],
  ['a running record holding jobs back', runningShapeProblem, { ...RUNNING, held: 3 }, undefined],
  [
    'a running record whose held count is text',
    runningShapeProblem,
    { ...RUNNING, held: 'x' },
    'does not hold what a leader runs: held is "x", not a number',
  ],
  [
    'a running record whose count is null',
    runningShapeProblem,
    { ...RUNNING, running: null },
    'does not hold what a leader runs: running is null, not a number',
  ],
  [
    'a running job of another state',
    runningShapeProblem,
    { ...RUNNING, jobs: [{ ...RUNNING.jobs[0], state: 'done', node: 3 }] },
    'does not hold what a leader runs: jobs[0].state is "done", not "running" or "issued", jobs[0].node is 3, not a string',
  ],
  ['a failure log as written', failureLogShapeProblem, LOG, undefined],
  [
    'a failure log whose lines are no list',
    failureLogShapeProblem,
    { ...LOG, logs: 3 },
    `does not hold a failed attempt's log: logs is 3, not a list of records`,
  ],
  [
    'a failure log line without its time',
    failureLogShapeProblem,
    { ...LOG, logs: [{ level: 'info', message: 'm' }] },
    `does not hold a failed attempt's log: no logs[0].time`,
  ],
  [
    'a failure log with nothing but its format',
    failureLogShapeProblem,
    { format: 1 },
    `does not hold a failed attempt's log: no jobId, no attempt, no name, no error, no logs list, no output`,
  ],
  ['a ticket as written', ticket, TICKET, undefined],
  [
    'a ticket with an environment and a service poll',
    ticket,
    { ...TICKET, env: { A: '1' }, service: { pollMs: 5 } },
    undefined,
  ],
  [
    'a ticket of another job',
    ticket,
    { ...TICKET, jobId: 'k' },
    `does not hold a job's ticket: its jobId "k" is not j, the job its key names`,
  ],
  [
    'a ticket whose memory is text',
    ticket,
    { ...TICKET, requirements: { ...TICKET.requirements, memory: '1G' } },
    `does not hold a job's ticket: requirements.memory is "1G", not a number`,
  ],
  [
    'a ticket whose preemptable flag is text',
    ticket,
    { ...TICKET, requirements: { ...TICKET.requirements, preemptable: 'yes' } },
    `does not hold a job's ticket: requirements.preemptable is "yes", not a boolean`,
  ],
  [
    'a ticket without its module',
    ticket,
    { ...TICKET, module: undefined },
    `does not hold a job's ticket: no module`,
  ],
  [
    'a ticket whose environment holds a number',
    ticket,
    { ...TICKET, env: { A: 1 } },
    `does not hold a job's ticket: env.A is 1, not a string`,
  ],
  [
    'a ticket whose service is a list',
    ticket,
    { ...TICKET, service: [] },
    `does not hold a job's ticket: service is [], not a record`,
  ],
  ['a commit as written', commit, COMMIT, undefined],
  [
    'a commit whose services are no list',
    commit,
    { ...COMMIT, services: 3 },
    `does not hold a job's commit: services is 3, not a list of ids`,
  ],
  [
    'a commit whose times are text',
    commit,
    { ...COMMIT, wallTimeMs: 'x', cpuTimeMs: 'y' },
    `does not hold a job's commit: wallTimeMs is "x", not a number, cpuTimeMs is "y", not a number`,
  ],
  [
    "a commit whose worker's memory at the job's start is text",
    commit,
    { ...COMMIT, startRssBytes: '2' },
    `does not hold a job's commit: startRssBytes is "2", not a number`,
  ],
  [
    'a commit of an earlier version, with no memory at the start',
    commit,
    { ...COMMIT, startRssBytes: undefined },
    undefined,
  ],
  [
    'a commit without its attempt, with a log line without its time',
    commit,
    { ...COMMIT, attempt: undefined, logs: [{ level: 'info', message: 'm' }] },
    `does not hold a job's commit: no attempt, no logs[0].time`,
  ],
  [
    'a commit declaring a job whose requirements are text',
    commit,
    { ...COMMIT, newJobs: [{ ...SPEC, requirements: '2G' }] },
    `does not hold a job's commit: newJobs[0].requirements is "2G", not a record`,
  ],
  ['a workflow record as written', workflowShapeProblem, WORKFLOW, undefined],
  [
    'a workflow record with nothing but its job graph',
    workflowShapeProblem,
    { format: 1, workflowId: 'w', rootJobId: 'k', jobs: [SPEC] },
    'does not hold a workflow record: no createdAt, no workflowFile, no module, no args list, no options',
  ],
  [
    'a workflow record whose arguments are one string and whose default is text',
    workflowShapeProblem,
    {
      ...WORKFLOW,
      args: '--numLines 5',
      options: { retryCount: 1, defaults: { ...TICKET.requirements, preemptable: 'no' } },
    },
    'does not hold a workflow record: args is "--numLines 5", not a list of arguments, options.defaults.preemptable is "no", not a boolean',
  ],
  [
    'a workflow record whose job declares its memory as text',
    workflowShapeProblem,
    { ...WORKFLOW, jobs: [{ ...SPEC, requirements: { memory: '2G' } }] },
    'does not hold a workflow record: jobs[0].requirements.memory is "2G", not a number',
  ],
  ['the last module as written', currentModuleShapeProblem, { format: 1, module: TICKET.module }, undefined],
  [
    'the last module without its module',
    currentModuleShapeProblem,
    { format: 1 },
    "does not hold the last run's module: no module",
  ],
  [
    'a Mesos framework with its master',
    mesosFrameworkShapeProblem,
    { format: 1, frameworkId: 'f', master: 'm:5050' },
    undefined,
  ],
  [
    'a Mesos framework whose id is a number',
    mesosFrameworkShapeProblem,
    { format: 1, frameworkId: 3 },
    'does not hold a Mesos framework: frameworkId is 3, not a string',
  ],
  ["this machine's Slurm cluster", slurmUseShapeProblem, { format: 1 }, undefined],
  [
    'a Slurm cluster whose slurm.conf is a list',
    slurmUseShapeProblem,
    { format: 1, conf: ['a'] },
    `does not hold a Slurm cluster's use: conf is ["a"], not a string`,
  ],
  [
    'a lease record held',
    leaderShapeProblem,
    { format: 1, generation: 1, expiresAt: 9, holder: { id: 'i', host: 'h', pid: 7, bootId: 'b' } },
    undefined,
  ],
  ['a lease record released', leaderShapeProblem, { format: 1, generation: 1 }, undefined],
  [
    'a lease record without its generation',
    leaderShapeProblem,
    { format: 1 },
    'does not hold a lease record: no generation',
  ],
  [
    'a lease record whose holder has no host',
    leaderShapeProblem,
    { format: 1, generation: 0, holder: { id: 'i', pid: '7' } },
    'does not hold a lease record: no holder.host, holder.pid is "7", not a number',
  ],
  ['a service started with null', serviceStartedShapeProblem, { format: 1, value: null }, undefined],
  [
    'a service start without its value',
    serviceStartedShapeProblem,
    { format: 1, valu: 'db://a' },
    "does not hold a service's start value: no value",
  ],
  ['a stop request that keeps the service', serviceStopShapeProblem, { format: 1, keep: false }, undefined],
  [
    'a stop request whose keep is a word',
    serviceStopShapeProblem,
    { format: 1, keep: 'no' },
    `does not hold a leader's request that a service stop: keep is "no", not a boolean`,
  ],
  ['a stop request from before it said whether to keep', serviceStopShapeProblem, { format: 1 }, undefined],
  [
    "a lost attempt's mark as written",
    (m) => lostMarkShapeProblem(m, 'j/2'),
    { format: 1, jobId: 'j', attempt: 2 },
    undefined,
  ],
  [
    "a lost attempt's mark of another attempt than its key's",
    (m) => lostMarkShapeProblem(m, 'j/2'),
    { format: 1, jobId: 'j', attempt: 3 },
    "does not hold a lost attempt's mark: its attempt 3 is not 2, the one its key names",
  ],
];

for (const [name, check, record, problem] of rows)
  t.test(name, async (t) => {
    t.equal(check(record), problem);
  });
