/**
 * The EC2 Query API's request encoding: a form-encoded body (or query string) whose lists are
 * flattened as `Name.N` (1-based) and whose structures use dots (`IpPermissions.1.IpRanges.1.CidrIp`).
 */
export class QueryParams {
  private readonly values: ReadonlyMap<string, string>;

  constructor(values: ReadonlyMap<string, string>) {
    this.values = values;
  }

  static parse(body: string): QueryParams {
    const map = new Map<string, string>();
    for (const [k, v] of new URLSearchParams(body)) map.set(k, v);
    return new QueryParams(map);
  }

  get(name: string): string | undefined {
    return this.values.get(name);
  }

  entries(): [string, string][] {
    return [...this.values];
  }

  has(name: string): boolean {
    return this.values.has(name);
  }

  int(name: string): number | undefined {
    const v = this.values.get(name);
    if (v === undefined) return undefined;
    const n = Number(v);
    return Number.isInteger(n) ? n : Number.NaN;
  }

  bool(name: string): boolean | undefined {
    const v = this.values.get(name);
    return v === undefined ? undefined : v.toLowerCase() === 'true';
  }

  /** `Prefix.1`, `Prefix.2`, … up to the first gap. */
  list(prefix: string): string[] {
    const out: string[] = [];
    for (let i = 1; ; i++) {
      const v = this.values.get(`${prefix}.${i}`);
      if (v === undefined) return out;
      out.push(v);
    }
  }

  /** The structures `Prefix.1.*`, `Prefix.2.*`, … each as its own QueryParams, up to the first gap. */
  structs(prefix: string): QueryParams[] {
    const out: QueryParams[] = [];
    for (let i = 1; ; i++) {
      const sub = this.sub(`${prefix}.${i}`);
      if (sub.values.size === 0) return out;
      out.push(sub);
    }
  }

  /** The members under `Prefix.` with the prefix removed. */
  sub(prefix: string): QueryParams {
    const p = `${prefix}.`;
    const map = new Map<string, string>();
    for (const [k, v] of this.values) if (k.startsWith(p)) map.set(k.slice(p.length), v);
    return new QueryParams(map);
  }

  /** `Filter.N.Name` / `Filter.N.Value.M`, as EC2 sends filters. */
  filters(): Filter[] {
    return this.structs('Filter').map((f) => ({ name: f.get('Name') ?? '', values: f.list('Value') }));
  }
}

export interface Filter {
  readonly name: string;
  readonly values: readonly string[];
}

/** EC2 filter values accept `*` (any run) and `?` (any one character). */
export function globMatch(pattern: string, value: string): boolean {
  if (!pattern.includes('*') && !pattern.includes('?')) return pattern === value;
  const re = new RegExp(
    '^' +
      pattern
        .split('')
        .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[\\^$.|+()[\]{}]/g, '\\$&')))
        .join('') +
      '$',
    's',
  );
  return re.test(value);
}

export function anyMatch(patterns: readonly string[], value: string | undefined): boolean {
  return value !== undefined && patterns.some((p) => globMatch(p, value));
}
