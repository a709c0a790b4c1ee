/**
 * Where a JSON text first breaks JSON's grammar, and what was expected there. JSON.parse says
 * neither reliably: by offset or not at all ("Unexpected token '}', "…" is not valid JSON"), and a
 * person fixing a file goes by line and column.
 */
export interface JsonSyntaxProblem {
  /** 1-based. */
  readonly line: number;
  /** 1-based, in characters of the line. */
  readonly column: number;
  /** `expected ',' or '}', found ']'`. */
  readonly message: string;
  /** The line (or, when long, the part of it around the column), to show with the message. */
  readonly excerpt: string;
  /** The text is JSON documents one after another (JSON Lines), not one document. */
  readonly secondDocument: boolean;
}

/** Reads the text as JSON's grammar has it; stops at the first character the grammar rejects. */
class Scanner {
  pos = 0;
  private readonly text: string;
  constructor(text: string) {
    this.text = text;
  }

  fail(expected: string): never {
    throw new SyntaxAt(this.pos, `expected ${expected}, found ${this.found()}`);
  }

  /** What stands at the position: a word whole (`None`, `True`), else the character. */
  found(): string {
    if (this.pos >= this.text.length) return 'the end of the file';
    const word = /^[A-Za-z_][\w.]*/.exec(this.text.slice(this.pos, this.pos + 40))?.[0];
    if (word !== undefined) return `'${word}'`;
    const c = this.text[this.pos]!;
    if (c === '\n') return 'the end of the line';
    if (c < ' ') return `control character U+${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
    return c === "'" ? `"'"` : `'${c}'`;
  }

  ws(): void {
    while (this.pos < this.text.length && ' \t\n\r'.includes(this.text[this.pos]!)) this.pos++;
  }

  peek(): string | undefined {
    return this.text[this.pos];
  }

  value(): void {
    this.ws();
    const c = this.peek();
    if (c === '{') this.object();
    else if (c === '[') this.array();
    else if (c === '"') this.string();
    else if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) this.number();
    else if (!this.literal()) this.fail('a value (a string, number, object, list, true, false or null)');
    this.ws();
  }

  literal(): boolean {
    for (const word of ['true', 'false', 'null'])
      if (this.text.startsWith(word, this.pos) && !/[\w]/.test(this.text[this.pos + word.length] ?? '')) {
        this.pos += word.length;
        return true;
      }
    return false;
  }

  object(): void {
    this.pos++;
    this.ws();
    if (this.peek() === '}') {
      this.pos++;
      return;
    }
    for (;;) {
      this.ws();
      if (this.peek() !== '"')
        this.fail(this.peek() === '}' ? 'a quoted key (JSON allows no comma before })' : 'a quoted key');
      this.string();
      this.ws();
      if (this.peek() !== ':') this.fail("':' after the key");
      this.pos++;
      this.value();
      const c = this.peek();
      if (c === '}') {
        this.pos++;
        return;
      }
      if (c !== ',') this.fail("',' or '}'");
      this.pos++;
    }
  }

  array(): void {
    this.pos++;
    this.ws();
    if (this.peek() === ']') {
      this.pos++;
      return;
    }
    for (;;) {
      this.ws();
      if (this.peek() === ']') this.fail('a value (JSON allows no comma before ])');
      this.value();
      const c = this.peek();
      if (c === ']') {
        this.pos++;
        return;
      }
      if (c !== ',') this.fail("',' or ']'");
      this.pos++;
    }
  }

  string(): void {
    this.pos++;
    for (;;) {
      const c = this.peek();
      if (c === undefined || c < ' ') this.fail("'\"' to close the string");
      this.pos++;
      if (c === '"') return;
      if (c === '\\') {
        const e = this.peek();
        if (e === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(this.text.slice(this.pos + 1, this.pos + 5))) {
            this.pos++;
            this.fail('four hex digits after \\u');
          }
          this.pos += 5;
        } else if (e !== undefined && '"\\/bfnrt'.includes(e)) this.pos++;
        else this.fail('an escape (\\" \\\\ \\/ \\b \\f \\n \\r \\t or \\uXXXX) after \\');
      }
    }
  }

  number(): void {
    const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(this.text.slice(this.pos, this.pos + 400));
    if (!m) {
      if (this.peek() === '-') this.pos++;
      this.fail('a digit');
    }
    this.pos += m[0].length;
  }
}

class SyntaxAt extends Error {
  readonly offset: number;
  constructor(offset: number, message: string) {
    super(message);
    this.offset = offset;
  }
}

/** The widest part of a line shown with a problem. */
const EXCERPT_WIDTH = 60;

/**
 * The first place the text breaks JSON's grammar, or undefined when it is JSON (or nests too deep
 * to scan, which JSON.parse has then said itself). A second document after the first (JSON Lines)
 * is named as such.
 */
export function jsonSyntaxProblem(text: string): JsonSyntaxProblem | undefined {
  const s = new Scanner(text);
  let offset: number;
  let message: string;
  let secondDocument = false;
  try {
    s.value();
    if (s.pos >= text.length) return undefined;
    offset = s.pos;
    secondDocument = text[s.pos] === '{' || text[s.pos] === '[';
    message = secondDocument
      ? 'a second JSON document after the first ended (JSON Lines?)'
      : `expected the end of the file after the JSON document, found ${s.found()}`;
  } catch (e) {
    if (!(e instanceof SyntaxAt)) return undefined;
    offset = e.offset;
    message = e.message;
  }
  const lineStart = text.lastIndexOf('\n', offset - 1) + 1;
  const lineEndAt = text.indexOf('\n', offset);
  const lineText = text.slice(lineStart, lineEndAt < 0 ? text.length : lineEndAt).replace(/\r$/, '');
  const column = offset - lineStart + 1;
  const from = Math.max(0, Math.min(column - 1 - EXCERPT_WIDTH / 2, lineText.length - EXCERPT_WIDTH));
  const excerpt =
    (from > 0 ? '…' : '') +
    lineText.slice(from, from + EXCERPT_WIDTH) +
    (from + EXCERPT_WIDTH < lineText.length ? '…' : '');
  let line = 1;
  for (let i = text.indexOf('\n'); i >= 0 && i < offset; i = text.indexOf('\n', i + 1)) line++;
  return { line, column, message, excerpt, secondDocument };
}
