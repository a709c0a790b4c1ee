import { Command } from 'commander';
import t from 'tap';
import { command as clean } from '../../src/cli/clean.js';
import { command as debugJob } from '../../src/cli/debugJob.js';
import { command as destroyCluster } from '../../src/cli/destroyCluster.js';
import { command as kill } from '../../src/cli/kill.js';
import { command as launchCluster } from '../../src/cli/launchCluster.js';
import { command as rsyncCluster } from '../../src/cli/rsyncCluster.js';
import { command as sshCluster } from '../../src/cli/sshCluster.js';
import { command as stats } from '../../src/cli/stats.js';
import { command as status } from '../../src/cli/status.js';
import type { SubCommand } from '../../src/cli/main.js';

/**
 * Every option of Toil's cluster utilities (Toil's src/toil/utils/toil{Launch,Ssh,Rsync,Destroy}
 * Cluster.py with the provisioner options they share) and of `toil status`, `toil stats`,
 * `toil kill`, `toil clean` and `toil debug-job` is an option of ours: a command line from Toil's docs never stops at "unknown option".
 */
/** Toil's src/toil/common.py parser_with_common_options: logging and --tempDirRoot. */
const COMMON = [
  ...['--logCritical', '--logError', '--logWarning', '--logInfo', '--logDebug', '--logTrace', '--logOff'],
  ...['--logLevel', '--logFile', '--rotatingLogging', '--logColors', '--tempDirRoot'],
];

const TOIL: Readonly<Record<string, string[]>> = {
  'launch-cluster': [
    ...['--allowFuse', '--boto', '--clusterType', '-T', '--forceDockerAppliance', '--keyPairName'],
    ...['--leaderNodeType', '--leaderStorage', '--network', '--nodeStorage', '--nodeTypes', '--owner'],
    // Toil's docs list it with the Launch-Cluster Options (running/cloud/clusterUtils).
    '--nodeStorageOverrides',
    ...['--tag', '-t', '--use_private_ip', '--vpcSubnet', '--workers', '-w', '--provisioner', '-p'],
    ...['--zone', '-z', '--awsEc2ProfileArn', '--awsEc2ExtraSecurityGroupId', ...COMMON],
  ],
  'ssh-cluster': [
    ...['--grafana_port', '--insecure', '--sshOption', '--provisioner', '-p', '--zone', '-z'],
    ...COMMON,
  ],
  'rsync-cluster': ['--insecure', '--provisioner', '-p', '--zone', '-z', ...COMMON],
  'destroy-cluster': ['--provisioner', '-p', '--zone', '-z', ...COMMON],
  // Toil's src/toil/utils/toil{Status,Stats,Kill}.py, with parser_with_common_options's (COMMON)
  status: [
    ...COMMON,
    ...['--failIfNotComplete', '--noAggStats', '--dot', '--printDot', '--jobs', '--perJob'],
    ...['--printPerJobStats', '--logs', '--printLogs', '--children', '--printChildren', '--status'],
    ...['--printStatus', '--failed', '--printFailed'],
  ],
  stats: [
    ...COMMON,
    ...['--outputFile', '--raw', '--pretty', '--human', '--sort', '--categories', '--sortCategory'],
    '--sortField',
  ],
  kill: [...COMMON, '--force'],
  // Toil's toilClean.py and toilDebugJob.py
  clean: COMMON,
  'debug-job': [...COMMON, '--printJobInfo', '--retrieveTaskDirectory'],
};

function optionsOf(sub: SubCommand, name: string): Set<string> {
  const program = new Command();
  sub.register(program, () => undefined);
  const cmd = program.commands.find((c) => c.name() === name)!;
  return new Set(cmd.options.flatMap((o) => [o.long, o.short].filter((x): x is string => Boolean(x))));
}

t.test("every option of Toil's cluster utilities and workflow utilities is one of ours", async (t) => {
  const subs: [string, SubCommand][] = [
    ['launch-cluster', launchCluster],
    ['ssh-cluster', sshCluster],
    ['rsync-cluster', rsyncCluster],
    ['destroy-cluster', destroyCluster],
    ['status', status],
    ['stats', stats],
    ['kill', kill],
    ['clean', clean],
    ['debug-job', debugJob],
  ];
  for (const [name, sub] of subs) {
    const ours = optionsOf(sub, name);
    t.same(
      TOIL[name]!.filter((f) => !ours.has(f)),
      [],
      name,
    );
  }
});

t.test("Toil's --vpcSubnet is a launch-cluster option of its own, shown in --help", async (t) => {
  const program = new Command();
  launchCluster.register(program, () => undefined);
  const cmd = program.commands.find((c) => c.name() === 'launch-cluster')!;
  const help = cmd.helpInformation();
  t.match(help, /--vpcSubnet <id>\s+the subnet the leader and its workers/);
});
