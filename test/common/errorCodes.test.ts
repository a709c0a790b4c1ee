import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { ERROR_CODES, errorCodesMarkdown, type ErrorCodeEntry } from '../../src/common/errorCodes.js';
import { DISPOSITIONS } from '../../src/provisioner/errors.js';
import { repoPath } from '../fixtures/repoRoot.js';

/**
 * One registry of error codes (src/common/errorCodes.ts): docs/errors.md is its table, every code
 * src/ throws is in it with the disposition it is thrown with, so is every code src/ names as a
 * value or compares an error's with, and it lists no code nothing throws.
 */
const SRC = repoPath('src');
const registry: Readonly<Record<string, ErrorCodeEntry>> = ERROR_CODES;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

/** Each source file of src/ but the registry itself, named by its path under src/. */
function sources(): { file: string; src: string }[] {
  return sourceFiles(SRC)
    .filter((p) => !p.endsWith('errorCodes.ts'))
    .map((p) => ({ file: p.slice(SRC.length + 1), src: readFileSync(p, 'utf8') }));
}

/** The text of the call whose '(' is at `open`, up to its matching ')' (strings skipped). */
function callText(src: string, open: number): string {
  let depth = 0;
  let quote: string | undefined;
  for (let i = open; i < src.length; i++) {
    const c = src[i]!;
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = undefined;
    } else if (c === "'" || c === '"' || c === '`') quote = c;
    else if (c === '(') depth++;
    else if (c === ')' && --depth === 0) return src.slice(open, i + 1);
  }
  return src.slice(open);
}

interface ThrowSite {
  readonly file: string;
  readonly code: string;
  /** The disposition the site gives, when it can be read from the source. */
  readonly disposition: string | undefined;
}

function throwSites(): ThrowSite[] {
  const sites: ThrowSite[] = [];
  for (const { file, src } of sources()) {
    for (const m of src.matchAll(/(?:new (\w+)|super)\(\s*'([A-Z][A-Z0-9_]+)'/g)) {
      const code = m[2]!;
      const call = callText(src, m.index + m[0].indexOf('('));
      const explicit = /disposition: '(\w+)'/.exec(call)?.[1];
      // The class a `super(...)` call constructs through.
      const base = m[1] ?? [...src.slice(0, m.index).matchAll(/class \w+ extends (\w+)/g)].at(-1)?.[1];
      const disposition =
        explicit ??
        (base === 'UserInputError'
          ? 'user'
          : base === 'ProvisionerError'
            ? (DISPOSITIONS as Record<string, string>)[code]
            : base === 'ToilError'
              ? 'fatal'
              : undefined);
      sites.push({ file, code, disposition });
    }
  }
  return sites;
}

t.test('every code src/ throws is in the registry, with the disposition it is thrown with', async (t) => {
  const sites = throwSites();
  t.ok(sites.length > 100, `${sites.length} throw sites read`);
  for (const s of sites) {
    const entry = registry[s.code];
    if (!entry) {
      t.fail(`${s.file}: ${s.code} is not in src/common/errorCodes.ts`);
      continue;
    }
    if (s.disposition !== undefined)
      t.ok(
        (entry.dispositions as readonly string[]).includes(s.disposition),
        `${s.file}: ${s.code} thrown as '${s.disposition}', registered as ${entry.dispositions.join('|')}`,
      );
  }
});

/**
 * Codes of other software that src/ names: Node's (`ENOENT`, `ERR_…`) and Fastify's (`FST_ERR_…`).
 * Every other upper-case code is one of ours.
 */
const FOREIGN_CODE = /^(E[A-Z]+|ERR_[A-Z0-9_]+|FST_ERR_[A-Z0-9_]+)$/;

/**
 * The codes src/ names without constructing an error with them: a code given as a value (`code:
 * …`, `const code = …`, as a child process's reply that its parent rebuilds into an error, or the
 * label of an untyped error) and a code an error's is compared with (`e.code === '…'`). Such a code
 * reaches users (a message, /status, a metric) as surely as a thrown one.
 */
function namedCodes(): Pick<ThrowSite, 'file' | 'code'>[] {
  const sites: Pick<ThrowSite, 'file' | 'code'>[] = [];
  for (const { file, src } of sources()) {
    const add = (text: string): void => {
      for (const m of text.matchAll(/'([A-Z][A-Z0-9_]+)'/g))
        if (!FOREIGN_CODE.test(m[1]!)) sites.push({ file, code: m[1]! });
    };
    for (const m of src.matchAll(/\bcode(?::|\s*=(?!=))([^,;}\n]*)/g)) add(m[1]!);
    for (const m of src.matchAll(/\bcode\s*[!=]==?\s*('[A-Z][A-Z0-9_]+')/g)) add(m[1]!);
    for (const m of src.matchAll(/('[A-Z][A-Z0-9_]+')\s*[!=]==?\s*[\w.?]*\bcode\b/g)) add(m[1]!);
  }
  return sites;
}

t.test('every code src/ gives as a value or compares an error with is in the registry', async (t) => {
  const sites = namedCodes();
  t.ok(
    sites.some((s) => s.code === 'WORKFLOW_CODE_THREW' && s.file === 'workflow/workflowHostChild.ts'),
    "the workflow host's reply code is read (it is never thrown by name)",
  );
  const missing = sites.filter((s) => !(s.code in registry)).map((s) => `${s.file}: ${s.code}`);
  t.same(missing, [], 'each is in src/common/errorCodes.ts');
});

t.test("the provisioner's disposition table agrees with the registry", async (t) => {
  for (const [code, disposition] of Object.entries(DISPOSITIONS))
    t.same(registry[code]?.dispositions.includes(disposition), true, `${code}: ${disposition}`);
});

t.test('the registry lists no code that nothing in src/ uses', async (t) => {
  const all = sources()
    .map((s) => s.src)
    .join('\n');
  const unused = Object.keys(registry).filter((code) => !all.includes(`'${code}'`));
  t.same(unused, [], 'every registered code appears in src/');
});

/** The rows of a markdown table, cells trimmed (prettier pads them), header and rule left out. */
function tableRows(markdown: string): string[][] {
  return markdown
    .split('\n')
    .filter((l) => l.startsWith('|'))
    .map((l) =>
      l
        .slice(1, -1)
        .split('|')
        .map((c) => c.trim()),
    )
    .filter((cells, i) => i > 1 || !(cells[0] === 'code' || /^-+$/.test(cells[0] ?? '')));
}

t.test('docs/errors.md is the registry as a table', async (t) => {
  const doc = readFileSync(join(SRC, '../docs/errors.md'), 'utf8');
  t.same(
    tableRows(doc),
    tableRows(errorCodesMarkdown()),
    `docs/errors.md holds the registry's table; regenerate it from src/common/errorCodes.ts:\n${errorCodesMarkdown()}`,
  );
});
