import type { Disposition } from './errors.js';

/**
 * Every error code toil-ts raises, with the dispositions it is raised with and what it means: the
 * one list of codes. docs/errors.md is this table (test/common/errorCodes.test.ts renders it and
 * compares), and the same test fails when code in src/ throws a code that is not here, or with a
 * disposition this table does not give it, or names one that is not here as a value (`code: …`,
 * a child's reply rebuilt into an error) or in a comparison with an error's code. Dispositions
 * (src/common/errors.ts): 'user' is one line and exit 2; 'retry' is tried again after a backoff;
 * 'unavailable' marks an offering and re-plans; 'fatal' is surfaced once.
 */
export interface ErrorCodeEntry {
  readonly area: string;
  readonly dispositions: readonly Disposition[];
  readonly meaning: string;
}

const u = ['user'] as const;
const f = ['fatal'] as const;
const r = ['retry'] as const;

export const ERROR_CODES = {
  // Input and config
  BAD_FLAG: {
    area: 'input',
    dispositions: u,
    meaning: 'a command-line flag has a value its command cannot use',
  },
  BAD_LOG_LEVEL: { area: 'input', dispositions: u, meaning: '--logLevel names no level' },
  UNSUPPORTED_TOIL_OPTION: {
    area: 'input',
    dispositions: u,
    meaning:
      'a Toil option asks for what toil-ts does not give (SSE-C, per-job log files, ...); the message says what to do instead',
  },
  CONFIG_INVALID: {
    area: 'input',
    dispositions: u,
    meaning: 'a config file does not match its schema (the path and what was expected are named)',
  },
  CONFIG_UNREADABLE: {
    area: 'input',
    dispositions: u,
    meaning: 'a config file cannot be read or parsed as YAML',
  },
  FILE_UNREADABLE: {
    area: 'input',
    dispositions: u,
    meaning: 'a file named on the command line cannot be read',
  },
  TRACE_INVALID: { area: 'input', dispositions: u, meaning: 'a simulator trace is not valid' },
  PORT_IN_USE: {
    area: 'input',
    dispositions: u,
    meaning: "a port to listen on is taken (the leader's HTTP port, a local cloud's)",
  },
  BAD_SUBMISSION: {
    area: 'input',
    dispositions: u,
    meaning: 'a workflow submitted to the leader is not valid (the field is named)',
  },
  BODY_KEY_REFUSED: {
    area: 'input',
    dispositions: u,
    meaning:
      "a JSON body sent to the leader holds a key that reaches an object's prototype (__proto__, or constructor with prototype); where it sits is named",
  },
  CATALOGUE_INVALID: {
    area: 'input',
    dispositions: u,
    meaning: 'the instance catalogue does not match its schema',
  },
  CATALOGUE_MISSING: {
    area: 'input',
    dispositions: u,
    meaning: 'the instance catalogue file does not exist',
  },
  CATALOGUE_UNREADABLE: {
    area: 'input',
    dispositions: u,
    meaning: 'the instance catalogue cannot be read or parsed',
  },
  // Workflows
  WORKFLOW_FILE_MISSING: {
    area: 'workflow',
    dispositions: u,
    meaning: 'the workflow file does not exist or cannot be read',
  },
  WORKFLOW_BUNDLE: {
    area: 'workflow',
    dispositions: u,
    meaning: 'the workflow file does not compile or bundle',
  },
  WORKFLOW_BUNDLER_FAILED: {
    area: 'workflow',
    dispositions: f,
    meaning: 'the process bundling a submitted (or resumed) workflow failed, or died before it answered',
  },
  WORKFLOW_FILE_NOT_ANSWERING: {
    area: 'workflow',
    dispositions: f,
    meaning:
      "a submitted workflow file's file system (or that of a file it imports) did not answer in time (a hung mount); the leader refused the submission, or failed the resumed run that had to bundle it again",
  },
  WORKFLOW_CHANGED: {
    area: 'workflow',
    dispositions: u,
    meaning: '`--restart` with a workflow file that no longer defines a job the workflow holds',
  },
  WORKFLOW_LOAD: {
    area: 'workflow',
    dispositions: u,
    meaning: "the workflow module's top level threw (two jobs of one name, a bug) as it loaded",
  },
  JOB_NOT_FOUND: {
    area: 'workflow',
    dispositions: u,
    meaning:
      "`toil debug-job`: no issued job has that id or name (the jobs that failed for good, or the names, are listed), or only jobs a checkpoint's rerun dropped; `toil status --jobs`: no job has that id (a job name is said to be one, with its ids)",
  },
  JOB_AMBIGUOUS: {
    area: 'workflow',
    dispositions: u,
    meaning:
      '`toil debug-job`: several jobs have that name and not exactly one failed for good (their ids are listed)',
  },
  WORKFLOW_KILLED: {
    area: 'workflow',
    dispositions: f,
    meaning:
      '`toil kill` stopped the run (not a failure of the workflow): its running jobs were killed (or, every job run, its finish was not run or was abandoned; or, before any job, its start() was abandoned), the job store is kept for --restart (on a leader daemon: for submitting it again) unless --clean always or onError deleted it',
  },
  NO_LEADER: {
    area: 'workflow',
    dispositions: u,
    meaning: '`toil kill` of a job store no leader is running (nothing to stop)',
  },
  NO_WORKFLOW: {
    area: 'workflow',
    dispositions: u,
    meaning:
      '`toil stats` of a job store with no workflow record: its start() was interrupted, or its leader (named) is still in `start()`',
  },
  WORKFLOW_NO_DEFAULT: {
    area: 'workflow',
    dispositions: u,
    meaning: 'the workflow module has no default export',
  },
  WORKFLOW_NO_ROOT: {
    area: 'workflow',
    dispositions: u,
    meaning: "the workflow's start returned no root job",
  },
  WORKFLOW_START: { area: 'workflow', dispositions: u, meaning: "the workflow's start threw" },
  WORKFLOW_FINISH: {
    area: 'workflow',
    dispositions: f,
    meaning:
      "the workflow's finish threw after every job ran; the job store is kept and --restart runs finish again",
  },
  WORKFLOW_WOULD_HANG: {
    area: 'workflow',
    dispositions: u,
    meaning:
      "a job asks for more than any allowed node, or a host's services cannot all run at once under the node limits, so the run would wait forever",
  },
  JOB_TOO_BIG: {
    area: 'workflow',
    dispositions: u,
    meaning: 'a job asks for more than the largest node allows',
  },
  JOB_OVER_MAX: {
    area: 'workflow',
    dispositions: u,
    meaning:
      "a job asks for more cores, memory or disk than --maxCores, --maxMemory or --maxDisk allows (Toil's InsufficientSystemResources), on any batch system",
  },
  IMPORT_FILE_MISSING: {
    area: 'workflow',
    dispositions: u,
    meaning: 'a file the workflow imports does not exist',
  },
  IMPORT_NOT_A_FILE: {
    area: 'workflow',
    dispositions: u,
    meaning: 'what the workflow imports is a directory, not a regular file, or cannot be read',
  },
  EXPORT_FAILED: {
    area: 'workflow',
    dispositions: u,
    meaning:
      'where the workflow exports a file cannot be written (no such directory, a directory, no permission)',
  },
  FILE_URL_UNSUPPORTED: {
    area: 'workflow',
    dispositions: u,
    meaning: 'an import or export names a URL toil-ts does not read or write (it takes paths and file: URLs)',
  },
  WORKFLOW_CODE_THREW: {
    area: 'workflow',
    dispositions: f,
    meaning:
      "the workflow's own code (its module's top level, start or finish) threw, in a timer or a promise too; the message is its error's",
  },
  WORKFLOW_CODE_CRASHED: {
    area: 'workflow',
    dispositions: ['user', 'fatal'],
    meaning: "the process running the workflow's own code died (it exited, or was killed) before it answered",
  },
  WORKFLOW_CODE_TIMEOUT: {
    area: 'workflow',
    dispositions: ['user', 'fatal'],
    meaning: "the workflow's own code did not answer in time",
  },
  WORKFLOW_HOST_FAILED: {
    area: 'workflow',
    dispositions: ['user', 'fatal'],
    meaning: "the process hosting the workflow's code failed",
  },
  WORKFLOW_CANCELLED: { area: 'workflow', dispositions: f, meaning: 'the workflow was cancelled' },
  WORKFLOW_UNKNOWN: { area: 'workflow', dispositions: f, meaning: 'the leader knows no workflow by that id' },
  // Job store
  BAD_S3_ENDPOINT: {
    area: 'jobstore',
    dispositions: u,
    meaning:
      'TOIL_S3_HOST, TOIL_S3_PORT or TOIL_S3_USE_SSL make no S3 endpoint (a host that is a URL, a port that is not a number, a boolean that is not one), or name another endpoint than AWS_ENDPOINT_URL_S3',
  },
  JOBSTORE_BAD_LOCATOR: {
    area: 'jobstore',
    dispositions: u,
    meaning: 'a job store locator is neither file:PATH nor aws:REGION:NAME',
  },
  JOBSTORE_EXISTS: {
    area: 'jobstore',
    dispositions: u,
    meaning:
      'a new workflow was started on a job store that exists (the message names the leader running in it, if one does: then neither `--restart` nor `toil clean` is the way out; else what the store holds: no workflow yet, a finished workflow, one that failed or was stopped by `toil kill`)',
  },
  JOBSTORE_NOT_FOUND: { area: 'jobstore', dispositions: u, meaning: 'the job store does not exist' },
  JOBSTORE_BEING_DELETED: {
    area: 'jobstore',
    dispositions: u,
    meaning:
      'a `file:` job store is being deleted by another live process (named): no command may use it until that deletion ends',
  },
  JOBSTORE_ACCESS: {
    area: 'jobstore',
    dispositions: u,
    meaning: 'the job store cannot be used with these credentials or in this region',
  },
  JOBSTORE_CORRUPT: {
    area: 'jobstore',
    dispositions: u,
    meaning:
      'an object fails its length/SHA-256 check or does not parse (named), or the workflow record (workflow.json) is missing though the store holds what only a started workflow writes',
  },
  JOBSTORE_NOT_OURS: {
    area: 'jobstore',
    dispositions: u,
    meaning:
      "a job store's location holds what no job store wrote (someone else's aws: bucket; a file, or a directory of other files, at a file: path): never used or deleted",
  },
  JOBSTORE_WRONG_REGION: {
    area: 'jobstore',
    dispositions: u,
    meaning:
      "an aws: job store's bucket is in another region than its locator names (both named): never used or deleted under that locator",
  },
  JOBSTORE_LEASED: {
    area: 'jobstore',
    dispositions: u,
    meaning: 'another leader holds the job store lease (holder and expiry named)',
  },
  JOBSTORE_LEASE_LOST: {
    area: 'jobstore',
    dispositions: ['user', 'retry'],
    meaning:
      'this leader lost its lease: another took over (user), or the store did not answer its renewals until it lapsed (retry)',
  },
  JOBSTORE_OBJECT_NOT_FOUND: {
    area: 'jobstore',
    dispositions: f,
    meaning: 'an object the store should hold is not there',
  },
  JOBSTORE_PRECONDITION_FAILED: {
    area: 'jobstore',
    dispositions: f,
    meaning: 'a conditional write lost to another writer',
  },
  JOBSTORE_UNAVAILABLE: {
    area: 'jobstore',
    dispositions: r,
    meaning: 'the storage did not answer (throttled, 5xx, connection)',
  },
  JOBSTORE_UNWRITABLE: {
    area: 'jobstore',
    dispositions: f,
    meaning: "a file: job store's disk refused a write (full, over quota, read-only, no permission)",
  },
  JOB_STORE_BUSY: {
    area: 'jobstore',
    dispositions: f,
    meaning: 'the leader already runs a workflow on that job store',
  },
  JOB_STORE_NOT_ANSWERING: {
    area: 'jobstore',
    dispositions: f,
    meaning:
      "a file: job store's file system did not resolve its path in time (a hung mount); the leader refused the submission",
  },
  BAD_FILE_ID: { area: 'jobstore', dispositions: f, meaning: 'a file id is not one the job store made' },
  FILE_NOT_FOUND: {
    area: 'jobstore',
    dispositions: f,
    meaning: 'a file of the workflow is not in the job store',
  },
  // Batch systems
  BATCH_SYSTEM_UNAVAILABLE: {
    area: 'batch',
    dispositions: u,
    meaning: '--batchSystem names one that is not available',
  },
  MESOS_AGENT_FLAG: { area: 'batch', dispositions: u, meaning: 'a local Mesos agent flag is not valid' },
  MESOS_ADDRESS: {
    area: 'batch',
    dispositions: u,
    meaning: 'a Mesos master address is not host:port (--mesosMaster, batchSystem.mesosMaster)',
  },
  MESOS_NOT_SUBSCRIBED: {
    area: 'batch',
    dispositions: ['user', 'retry'],
    meaning: 'the scheduler is not (yet) subscribed to the Mesos master',
  },
  MESOS_UNAVAILABLE: {
    area: 'batch',
    dispositions: r,
    meaning: 'the Mesos master answered 503 (it has no leader yet, or is starting)',
  },
  MESOS_SERVER_ERROR: {
    area: 'batch',
    dispositions: r,
    meaning: 'the Mesos master answered with a 5xx other than 503',
  },
  MESOS_REJECTED: {
    area: 'batch',
    dispositions: ['fatal', 'retry'],
    meaning:
      'the Mesos master refused the call with a 4xx (its text is in the message); a 409 (conflict) is tried again',
  },
  MESOS_PROTOCOL: {
    area: 'batch',
    dispositions: r,
    meaning: 'the Mesos master answered with something the client cannot use',
  },
  MESOS_RECORDIO: {
    area: 'batch',
    dispositions: r,
    meaning: 'a RecordIO frame from the master is malformed',
  },
  MESOS_REDIRECT: {
    area: 'batch',
    dispositions: r,
    meaning: 'the master is not the leading master (redirect)',
  },
  MESOS_SUBSCRIBE_TIMEOUT: {
    area: 'batch',
    dispositions: r,
    meaning: 'subscribing to the master took too long',
  },
  MESOS_TIMEOUT: { area: 'batch', dispositions: r, meaning: 'a call to the master took too long' },
  MESOS_UNREACHABLE: { area: 'batch', dispositions: r, meaning: 'the Mesos master cannot be reached' },
  BAD_SLURM_ARGS: {
    area: 'batch',
    dispositions: u,
    meaning:
      'TOIL_SLURM_ARGS (or --slurmArgs, batchSystem.slurmArgs) has an option toil-ts cannot use as given (an --exclude list it cannot read, or one it sets from each job: --mem, --cpus-per-task, --comment, --array); the option and why are named',
  },
  SLURM_BAD_REPLY: {
    area: 'batch',
    dispositions: f,
    meaning: "a Slurm command's JSON is not what was expected",
  },
  SLURM_COMMAND_FAILED: {
    area: 'batch',
    dispositions: ['fatal', 'retry', 'user'],
    meaning:
      "a Slurm command (sbatch, squeue, sinfo, scancel) failed, or its JSON reply carried an error; one the controller did not answer is tried again, a setting sbatch refused is the user's to fix",
  },
  SLURM_UNAVAILABLE: { area: 'batch', dispositions: u, meaning: "Slurm's tools are not installed here" },
  MUNGE_KEY_INVALID: {
    area: 'batch',
    dispositions: f,
    meaning: 'the munge key a Slurm node was given is shorter than munge accepts',
  },
  MUNGED_FAILED: { area: 'batch', dispositions: f, meaning: 'munged did not start (its log is named)' },
  NO_INSTANCE_METADATA: {
    area: 'batch',
    dispositions: u,
    meaning: "a Slurm node's boot could not read its instance's metadata (type, id)",
  },
  NO_MUNGE_KEY: {
    area: 'batch',
    dispositions: u,
    meaning: "a Slurm node's boot has no way to fetch its cluster's munge key (no SSM endpoint)",
  },
  IMDS_UNAVAILABLE: {
    area: 'batch',
    dispositions: r,
    meaning: "a node's rebalance watch could not read its instance metadata (logged, retried)",
  },
  BAD_REBALANCE_NOTICE: {
    area: 'batch',
    dispositions: r,
    meaning: 'the rebalance recommendation in the instance metadata has no noticeTime (logged, retried)',
  },
  // Leader (HTTP clients of it)
  LEADER_REFUSED: {
    area: 'leader',
    dispositions: u,
    meaning: 'the leader refused a submission, a cancel, or to report a followed workflow',
  },
  LEADER_NOT_TOIL: {
    area: 'leader',
    dispositions: u,
    meaning:
      "the server at --leader's URL answered without a toil-ts leader's JSON (another service on that port)",
  },
  LEADER_STATE_LEASED: {
    area: 'leader',
    dispositions: u,
    meaning:
      "another toil leader holds the leader state's lease (a second daemon on one jobStore; holder and expiry named)",
  },
  LEADER_NOT_TAKING: {
    area: 'leader',
    dispositions: r,
    meaning:
      'the leader daemon is starting or stopping and takes no workflow now (503); toil run --leader retries for up to 60 s',
  },
  LEADER_UNAUTHORISED: { area: 'leader', dispositions: u, meaning: "the leader's token was not accepted" },
  LEADER_UNREACHABLE: {
    area: 'leader',
    dispositions: u,
    meaning:
      'the leader cannot be reached at the URL given (nothing listens there, or its port is one web clients refuse to connect to)',
  },
  TOKEN_TOO_SHORT: {
    area: 'leader',
    dispositions: u,
    meaning: "the leader's token file holds too short a token",
  },
  TOKEN_UNREADABLE: { area: 'leader', dispositions: u, meaning: "the leader's token file cannot be read" },
  TOKEN_MALFORMED: {
    area: 'leader',
    dispositions: u,
    meaning: 'the token a client was given for the leader is empty or more than one word',
  },
  ILLEGAL_STATE: {
    area: 'leader',
    dispositions: f,
    meaning: 'a method was called in a state that does not allow it (a bug)',
  },
  ABORTED: { area: 'leader', dispositions: f, meaning: 'the leader is stopping now; the call was abandoned' },
  UNKNOWN: {
    area: 'leader',
    dispositions: f,
    meaning:
      "an error with none of toil-ts's codes (a library's, or a bug), as the scaler's tick errors, call metrics, heartbeat and spot price feed name it; its message says what it was",
  },
  LAUNCH_REFUSED: {
    area: 'leader',
    dispositions: ['user', 'fatal'],
    meaning: 'an autoscaled run could launch no node (the cloud code and a hint named)',
  },
  NODES_NEVER_JOINED: {
    area: 'leader',
    dispositions: f,
    meaning: 'an autoscaled run stopped: node after node booted but never joined the cluster',
  },
  // Provisioner (EC2): the disposition table of src/provisioner/errors.ts
  NO_CAPACITY: {
    area: 'provisioner',
    dispositions: ['unavailable'],
    meaning: 'no capacity for the offering (type, zone, market)',
  },
  SPOT_PRICE_TOO_LOW: {
    area: 'provisioner',
    dispositions: ['unavailable'],
    meaning: 'the spot bid is below the market price',
  },
  THROTTLED: { area: 'provisioner', dispositions: r, meaning: 'the cloud throttled the call' },
  EC2_UNAVAILABLE: {
    area: 'provisioner',
    dispositions: r,
    meaning: 'EC2 answered 5xx or the connection dropped (a launch may have gone through)',
  },
  DEPENDENCY_VIOLATION: {
    area: 'provisioner',
    dispositions: r,
    meaning: 'a resource is still in use (deletes are retried)',
  },
  LIMIT_EXCEEDED: {
    area: 'provisioner',
    dispositions: f,
    meaning: 'an account limit (vCPUs, instances) was reached',
  },
  NOT_FOUND: { area: 'provisioner', dispositions: f, meaning: 'the cloud does not know the resource' },
  NOT_AUTHORISED: { area: 'provisioner', dispositions: f, meaning: 'the credentials may not make the call' },
  ALREADY_EXISTS: { area: 'provisioner', dispositions: f, meaning: 'the resource exists already' },
  CLUSTER_NOT_FOUND: {
    area: 'provisioner',
    dispositions: ['fatal', 'user'],
    meaning: 'no cluster of that name (the leader; destroy-cluster where the name is shown wrong)',
  },
  REQUEST_REJECTED: {
    area: 'provisioner',
    dispositions: f,
    meaning: 'the cloud rejected the request as malformed',
  },
  NO_CREDENTIALS: { area: 'provisioner', dispositions: u, meaning: 'no AWS credentials were found' },
  NO_SUCH_AWS_PROFILE: {
    area: 'provisioner',
    dispositions: u,
    meaning:
      'TOIL_AWS_PROFILE names a profile in neither the AWS credentials file nor the config file (both named)',
  },
  NO_REGION: { area: 'provisioner', dispositions: u, meaning: 'no AWS region was given' },
  UNKNOWN_INSTANCE_TYPE: {
    area: 'provisioner',
    dispositions: u,
    meaning: 'an instance type the cloud does not offer (close names suggested)',
  },
  BAD_LAUNCH_REQUEST: {
    area: 'provisioner',
    dispositions: f,
    meaning: 'a launch asked for a count that is not a positive integer (a bug)',
  },
  USER_DATA_INVALID: {
    area: 'provisioner',
    dispositions: f,
    meaning: "a node's user data lacks what its role needs (a bug)",
  },
  USER_DATA_TOO_LARGE: {
    area: 'provisioner',
    dispositions: f,
    meaning: "a node's user data is over EC2's 16 KiB limit",
  },
  // Cluster utilities
  BAD_APPLIANCE_IMAGE: {
    area: 'cluster',
    dispositions: u,
    meaning: 'TOIL_APPLIANCE_SELF (or its parts) is not an image reference',
  },
  BAD_CIDR: { area: 'cluster', dispositions: u, meaning: 'a CIDR block is not valid' },
  BAD_INIT_COMMAND: {
    area: 'cluster',
    dispositions: u,
    meaning: 'TOIL_CUSTOM_INIT_COMMAND or TOIL_CUSTOM_DOCKER_INIT_COMMAND is not one line',
  },
  BAD_CLUSTER_NAME: { area: 'cluster', dispositions: u, meaning: 'a cluster name is not valid' },
  BAD_NODE_TYPES: { area: 'cluster', dispositions: u, meaning: '--nodeTypes is not valid' },
  BAD_PROVISIONER: {
    area: 'cluster',
    dispositions: u,
    meaning: '--provisioner names one that is not available',
  },
  BAD_RSYNC_ARGS: {
    area: 'cluster',
    dispositions: u,
    meaning: 'rsync-cluster arguments name no remote path',
  },
  BAD_TAG: { area: 'cluster', dispositions: u, meaning: 'TOIL_AWS_TAGS or a tag is not valid' },
  BAD_WORKERS: {
    area: 'cluster',
    dispositions: u,
    meaning: '--workers is not valid, or missing beside --nodeTypes',
  },
  BAD_ZONE: { area: 'cluster', dispositions: u, meaning: 'a zone is not valid' },
  NO_ZONE: { area: 'cluster', dispositions: u, meaning: 'no zone given (--zone or TOIL_AWS_ZONE)' },
  ZONE_OUTSIDE_REGION: {
    area: 'cluster',
    dispositions: u,
    meaning: "the zone is not one of its region's zones",
  },
  NO_SUCH_REGION: {
    area: 'cluster',
    dispositions: u,
    meaning: 'the region of the zone (or the region) given is not one EC2 lists',
  },
  CLUSTER_EXISTS: { area: 'cluster', dispositions: u, meaning: 'a cluster of that name exists already' },
  IAM_NOT_TOILS: {
    area: 'cluster',
    dispositions: u,
    meaning: "an IAM role or instance profile of the cluster's names exists that toil-ts did not make",
  },
  MUNGE_KEY_NOT_TOILS: {
    area: 'cluster',
    dispositions: u,
    meaning: "an SSM parameter of the cluster's munge key name exists that toil-ts did not make",
  },
  SECURITY_GROUP_NOT_TOILS: {
    area: 'cluster',
    dispositions: u,
    meaning: "a security group of the cluster's name exists that toil-ts did not make",
  },
  CLUSTER_NAME_NOT_TOILS: {
    area: 'cluster',
    dispositions: u,
    meaning:
      "things of more than one kind bearing the cluster's name exist that toil-ts did not make (a security group, IAM role or instance profile, munge key parameter): each is named",
  },
  NO_SUCH_CLUSTER: { area: 'cluster', dispositions: u, meaning: 'no cluster of that name to reach' },
  BAD_IMAGE_ID: {
    area: 'cluster',
    dispositions: u,
    meaning: 'TOIL_AWS_AMI is not an image ID (ami- followed by 8 or 17 hex digits)',
  },
  NO_IMAGE: {
    area: 'cluster',
    dispositions: u,
    meaning:
      'no node image found for launch-cluster (TOIL_AWS_AMI names no image of the region, or it has no Flatcar stable image)',
  },
  NO_NODE_IMAGE: {
    area: 'cluster',
    dispositions: u,
    meaning:
      "no node image found for the leader's workers (TOIL_AWS_AMI, provisioner.imageId or, for `toil run --provisioner aws`, the cluster leader's image or that of the nodes a `--restart` adopts names no image of the region, or it has no Flatcar stable image)",
  },
  ROOT_VOLUME_BELOW_IMAGE: {
    area: 'cluster',
    dispositions: u,
    meaning:
      "--leaderStorage, --nodeStorage or --nodeStorageOverrides (scaler.nodeStorage, scaler.nodeStorageOverrides or provisioner.nodeStorageGiB in a leader config) is smaller than the root snapshot of the nodes' image, which EC2 makes the root volume from",
  },
  NO_KEY_PAIR: { area: 'cluster', dispositions: u, meaning: 'the key pair named does not exist' },
  NO_SUBNET: {
    area: 'cluster',
    dispositions: u,
    meaning: 'the subnet named (--vpcSubnet) does not exist, or the zone has no default subnet',
  },
  SUBNET_ZONE_MISMATCH: {
    area: 'cluster',
    dispositions: u,
    meaning: "the subnet named (--vpcSubnet) is in another zone than the cluster's",
  },
  NO_INSTANCE_PROFILE: {
    area: 'cluster',
    dispositions: u,
    meaning: 'the instance profile named (--awsEc2ProfileArn) does not exist in the account',
  },
  NO_SECURITY_GROUP: {
    area: 'cluster',
    dispositions: u,
    meaning:
      "an extra security group named (--awsEc2ExtraSecurityGroupId) is not in the cluster's VPC, or bears the cluster's name",
  },
  NO_NODE_TYPE: { area: 'cluster', dispositions: u, meaning: 'launch-cluster needs --leaderNodeType' },
  NO_LEADER_ADDRESS: {
    area: 'cluster',
    dispositions: u,
    meaning: "the cluster's leader has no address to reach",
  },
  LEADER_NOT_RUNNING: { area: 'cluster', dispositions: u, meaning: "the cluster's leader is not running" },
  MISSING_PROGRAM: { area: 'cluster', dispositions: u, meaning: 'ssh or rsync is not installed here' },
  IAM_NOT_AUTHORISED: {
    area: 'cluster',
    dispositions: u,
    meaning: "the caller may not manage the cluster's IAM (the permission named)",
  },
  SSM_NOT_AUTHORISED: {
    area: 'cluster',
    dispositions: u,
    meaning: "the caller may not manage a Slurm cluster's munge key in SSM (the permission named)",
  },
  SSM_REJECTED: {
    area: 'cluster',
    dispositions: f,
    meaning:
      "SSM refused a call on a Slurm cluster's munge key (ValidationException, ParameterLimitExceeded, ...): one line naming the call, the parameter and AWS's message; a launch removes what it made",
  },
  IAM_NOT_CONSISTENT: {
    area: 'cluster',
    dispositions: f,
    meaning: 'IAM did not show a role or profile in time',
  },
  IAM_NO_ARN: { area: 'cluster', dispositions: f, meaning: 'IAM answered without an ARN' },
  IAM_EXISTS: {
    area: 'cluster',
    dispositions: f,
    meaning: 'an IAM role or profile of that name exists already',
  },
  IAM_NOT_FOUND: {
    area: 'cluster',
    dispositions: f,
    meaning: 'IAM does not know the role or profile (removal is re-runnable)',
  },
  IAM_REJECTED: {
    area: 'cluster',
    dispositions: f,
    meaning:
      "IAM refused a call (ValidationError, MalformedPolicyDocument, LimitExceeded, ...): one line naming the call and AWS's message; a launch removes what it made",
  },
  IAM_UNREACHABLE: {
    area: 'cluster',
    dispositions: f,
    meaning:
      "no answer came from IAM's endpoint (connection refused, reset before an answer, or timed out, after retries): one line naming the call, the endpoint, the cause and what sets the endpoint (AWS_ENDPOINT_URL_IAM)",
  },
  SSM_UNREACHABLE: {
    area: 'cluster',
    dispositions: f,
    meaning:
      "no answer came from SSM's endpoint (connection refused, reset before an answer, or timed out, after retries) for a Slurm cluster's munge key: one line naming the call, the endpoint, the cause and what sets the endpoint (AWS_ENDPOINT_URL_SSM)",
  },
  // The scaler tick's name for a thrown value of no known kind (a bug): fatal, shown once.
  UNTYPED_ERROR: {
    area: 'scaler',
    dispositions: f,
    meaning: 'a launch failed with an error of no known kind (a bug); surfaced once, not retried',
  },
} as const satisfies Record<string, ErrorCodeEntry>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** docs/errors.md's table: one row per code, by area, in the order above. */
export function errorCodesMarkdown(): string {
  const rows = Object.entries(ERROR_CODES).map(
    ([code, e]: [string, ErrorCodeEntry]) =>
      `| \`${code}\` | ${e.area} | ${e.dispositions.join(', ')} | ${e.meaning} |`,
  );
  return ['| code | area | disposition | meaning |', '| --- | --- | --- | --- |', ...rows].join('\n');
}
