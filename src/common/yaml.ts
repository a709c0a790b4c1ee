import { createRequire } from 'node:module';
import type * as Yaml from 'yaml';

/**
 * The YAML library (some seventy modules), loaded at its first use: a config file to read or an
 * instance's user data to write. Every sub-command's module loads for `toil --help`, and most
 * commands read no YAML. Required, not imported, so that its callers stay synchronous (yaml is
 * CommonJS).
 */
export const yaml = (): typeof Yaml => createRequire(import.meta.url)('yaml') as typeof Yaml;
