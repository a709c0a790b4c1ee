import { UserInputError } from '../../common/errors.js';

/** Commander collector for repeatable flags (`-t a=b -t c=d`). */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/**
 * Commander collector for Toil's comma-separated list flags that extend their list when given
 * again (argparse's `extend`): `--nodeTypes c5.large --nodeTypes m5.large` is `c5.large,m5.large`.
 * Kept as one string, so a list given once reads as it always did.
 */
export function extendCommaList(value: string, previous: string | undefined): string {
  return previous === undefined ? value : `${previous},${value}`;
}

export function progressTo(stream: NodeJS.WritableStream): (line: string) => void {
  return (line) => void stream.write(`${line}\n`);
}

export function checkProvisioner(name: string | undefined): void {
  if (name !== undefined && name !== 'aws')
    throw new UserInputError('BAD_PROVISIONER', `--provisioner: '${name}' is not supported (only aws)`);
}
