/** `items` joined by commas, the first `max` of them, then `and N more`: a list a line can hold. */
export function namedUpTo(items: readonly string[], max: number): string {
  const more = items.length - max;
  return items.slice(0, max).join(', ') + (more > 0 ? ` and ${more} more` : '');
}
