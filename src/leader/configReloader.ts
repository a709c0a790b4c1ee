import { watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import type { Clock } from '../common/clock.js';
import { coerceError } from '../common/errors.js';
import type { Logger } from '../common/log.js';

export type ReloadResult<T> =
  | { readonly status: 'applied'; readonly config: T }
  | { readonly status: 'unchanged' }
  | { readonly status: 'rejected'; readonly error: Error };

export interface ConfigReloaderOptions<T> {
  readonly path: string;
  /** Parses and validates the whole file; throws (with every problem named) if it is invalid. */
  readonly parse: (text: string) => T;
  /** Called with a config that parsed; it replaces the old one whole. */
  readonly apply: (config: T) => void;
  /** Called with a rejected file's error; the old config stays in force. */
  readonly reject?: (error: Error) => void;
  readonly clock: Clock;
  readonly log: Logger;
  /** Editors write a file in several steps; wait this long after the last change before reading. */
  readonly debounceMs?: number;
}

/**
 * Re-reads a config file when it changes on disk (and when asked, e.g. on SIGHUP). A file that
 * parses swaps in whole; one that does not is rejected and logged, and the config in force stays:
 * a half-applied config is never possible.
 */
export class ConfigReloader<T> {
  private readonly options: ConfigReloaderOptions<T>;
  private watcher: FSWatcher | undefined;
  private lastText: string | undefined;
  /** The last reload was rejected: the log's last word on the config is that rejection. */
  private lastRejected = false;
  private pending: AbortController | undefined;
  private chain: Promise<unknown> = Promise.resolve();

  constructor(options: ConfigReloaderOptions<T>, currentText?: string) {
    this.options = options;
    this.lastText = currentText;
  }

  /** Watches the file's directory (so a replace-by-rename is seen too). */
  start(): void {
    const file = basename(this.options.path);
    this.watcher = watch(dirname(this.options.path), (_event, name) => {
      if (name === null || name === file) this.scheduleReload();
    });
    this.watcher.on('error', (e) => this.options.log.warn({ err: e }, 'config watch failed'));
  }

  stop(): void {
    this.watcher?.close();
    this.watcher = undefined;
    this.pending?.abort();
  }

  /** Reads, validates and applies the file now; resolves with what happened. Calls are serialised. */
  reload(): Promise<ReloadResult<T>> {
    const next = this.chain.then(() => this.reloadNow());
    this.chain = next.catch(() => undefined);
    return next;
  }

  private scheduleReload(): void {
    this.pending?.abort();
    const controller = new AbortController();
    this.pending = controller;
    this.options.clock.sleep(this.options.debounceMs ?? 200, controller.signal).then(
      () => void this.reload(),
      () => undefined, // superseded by a later change
    );
  }

  private async reloadNow(): Promise<ReloadResult<T>> {
    const { path, parse, apply, reject, log } = this.options;
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (e) {
      const error = coerceError(e);
      log.error(
        { err: error, path },
        'config reload rejected: cannot read the file; keeping the current config',
      );
      this.lastRejected = true;
      reject?.(error);
      return { status: 'rejected', error };
    }
    if (text === this.lastText) {
      // Said, not silent: an operator who put a rejected file back, or sent SIGHUP, sees where it stands.
      log.info(
        { path },
        this.lastRejected
          ? 'config file is back to the config in force; nothing to reload'
          : 'config unchanged; nothing to reload',
      );
      this.lastRejected = false;
      return { status: 'unchanged' };
    }
    let config: T;
    try {
      config = parse(text);
    } catch (e) {
      const error = coerceError(e);
      log.error({ path, problems: error.message }, 'config reload rejected; keeping the current config');
      this.lastRejected = true;
      reject?.(error);
      return { status: 'rejected', error };
    }
    this.lastText = text;
    this.lastRejected = false;
    apply(config);
    log.info({ path }, 'config reloaded');
    return { status: 'applied', config };
  }
}
