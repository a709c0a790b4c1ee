/**
 * Slurm's compressed host lists, as squeue prints them: `n1`, `n[1-3,7]`, `a[01-02],b5`,
 * `rack[1-2]-n[1-2]` (every bracket group expands, left to right).
 */
export function expandHostlist(list: string): string[] {
  const out: string[] = [];
  for (const item of hostlistItems(list).map((s) => s.trim())) if (item !== '') out.push(...expandOne(item));
  return out;
}

/** The top-level items of a host list as written (`a,n[1-3]` → `a`, `n[1-3]`): commas inside brackets do not split. */
export function hostlistItems(list: string): string[] {
  const items: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < list.length; i++) {
    const c = list[i];
    if (c === '[') depth++;
    else if (c === ']') depth--;
    else if (c === ',' && depth === 0) {
      items.push(list.slice(start, i));
      start = i + 1;
    }
  }
  items.push(list.slice(start));
  return items;
}

function expandOne(item: string): string[] {
  const open = item.indexOf('[');
  if (open < 0) return [item];
  const close = item.indexOf(']', open);
  if (close < 0) return [item];
  const prefix = item.slice(0, open);
  const rest = expandOne(item.slice(close + 1));
  const out: string[] = [];
  for (const range of item.slice(open + 1, close).split(',')) {
    const [a, b] = range.split('-');
    if (b === undefined) {
      for (const r of rest) out.push(`${prefix}${a}${r}`);
      continue;
    }
    const width = a!.length;
    for (let n = Number(a); n <= Number(b); n++) {
      const num = String(n).padStart(width, '0');
      for (const r of rest) out.push(`${prefix}${num}${r}`);
    }
  }
  return out;
}
