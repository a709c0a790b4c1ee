import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { UserInputError } from '../common/errors.js';
import { parseLeaderConfig } from '../leader/leaderConfig.js';
import { readCatalogue } from '../scaler/catalogueFile.js';
import type { SubCommand } from './main.js';

/** `toil config check FILE`: validates a leader config; prints OK or every problem (exit 2). */
export const command: SubCommand = {
  register(program: Command, setExitCode: (code: number) => void): void {
    const config = program.command('config').description("Work with the leader's config file.");
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
        const parsed = parseLeaderConfig(text, await readCatalogue(), file);
        const s = parsed.scaler;
        process.stdout.write(
          `${file}: OK (policy ${s.policy}, ${s.nodeTypes.length} node type(s): ${s.nodeTypes
            .map((n) => `${n.label} ≤${n.maxNodes}`)
            .join(
              ', ',
            )}; provisioner ${parsed.provisioner.kind}; http ${parsed.http.host}:${parsed.http.port})\n`,
        );
        setExitCode(0);
      });
  },
};
