/**
 * The clusters a region holds, as a message about an unknown cluster name lists them (so a typo
 * is seen at once): `clusters here: a, b`, or `clusters here: none`.
 */
export function clustersHere(names: readonly string[]): string {
  return `clusters here: ${names.length > 0 ? names.join(', ') : 'none'}`;
}
