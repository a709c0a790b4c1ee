/** The errors of runs whose start failed and whose new job store was removed with it. */
const removedWith = new WeakSet<object>();

/** `e` ended a run as it started a new workflow, and the run removed the job store it had made. */
export function markStoreRemoved(e: unknown): void {
  if (typeof e === 'object' && e !== null) removedWith.add(e);
}

/**
 * The run failed as it started a new workflow, and its job store went with it (nothing is left to
 * resume): a client following the run must not be told the store is kept.
 */
export function removedItsNewStore(e: unknown): boolean {
  return typeof e === 'object' && e !== null && removedWith.has(e);
}
