import { readFile } from 'node:fs/promises';
import { Command } from 'commander';
import { UserInputError } from '../common/errors.js';
import { estimatedPricesWarning, maxHourlyCostWarning, parseLeaderConfig } from '../leader/leaderConfig.js';
import { readCatalogue } from '../scaler/catalogueFile.js';
import type { SubCommand } from './main.js';
import { command as runCommand } from './run.js';
import { writeConfigTemplate } from './runConfigFile.js';

/**
 * `toil config FILE` (Toil's): writes a config file of `toil run`'s options, for `--config`.
 * `toil config check FILE`: validates a leader config; prints OK or every problem (exit 2).
 */
export const command: SubCommand = {
  register(program: Command, setExitCode: (code: number) => void): void {
    const config = program
      .command('config')
      .description(
        "Write Toil's config file of toil run options (`toil config FILE.yaml`, then `toil run --config FILE.yaml ...`), or check the leader's config file (`toil config check FILE`).",
      )
      .argument('[file]', 'where to write the toil run config file, e.g. ~/.toil/default.yaml')
      .action((file: string | undefined) => {
        if (file === undefined)
          throw new UserInputError(
            'BAD_FLAG',
            'toil config: expected FILE (the toil run config file to write, e.g. ~/.toil/default.yaml) or `check FILE` (a leader config)',
          );
        const host = new Command();
        runCommand.register(host, () => undefined);
        const run = host.commands.find((c) => c.name() === 'run')!;
        const count = writeConfigTemplate(run, file);
        process.stdout.write(
          `wrote ${file}: ${count} toil run options, commented out with their defaults; uncomment what you set and run 'toil run --config ${file} ...'\n`,
        );
        setExitCode(0);
      });
    config
      .command('check')
      .description('Validate a leader config file (YAML); print OK, or every problem with its path.')
      .argument('<file>', 'the config file, e.g. config/leader.yaml')
      .action(async (file: string) => {
        let text: string;
        try {
          text = await readFile(file, 'utf8');
        } catch (e) {
          throw new UserInputError(
            'CONFIG_UNREADABLE',
            `cannot read config file ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
          );
        }
        // A ConfigError is a UserInputError: main prints every problem and exits 2.
        const parsed = parseLeaderConfig(text, await readCatalogue(), file, { servedPort: true });
        const s = parsed.scaler;
        process.stdout.write(
          `${file}: OK (policy ${s.policy}, ${s.nodeTypes.length} node type(s): ${s.nodeTypes
            .map((n) => `${n.label} ≤${n.maxNodes}`)
            .join(
              ', ',
            )}; provisioner ${parsed.provisioner.kind}; http ${parsed.http.host}:${parsed.http.port})\n`,
        );
        // Valid, but what the leader would warn of at start (costs that are estimates, a budget only
        // spot nodes fit under) is said now.
        for (const warning of [estimatedPricesWarning(s), maxHourlyCostWarning(s)])
          if (warning) process.stderr.write(`toil: warning: ${warning}\n`);
        setExitCode(0);
      });
  },
};
