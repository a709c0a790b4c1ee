import type { FastifyInstance } from 'fastify';
import { UserInputError } from '../common/errors.js';
import { shownInError } from './shownText.js';

/**
 * A JSON body holding a key that reaches an object's prototype in JavaScript: `__proto__`, or
 * `constructor` holding `prototype`. The body is valid JSON, so it is refused as what it is, the
 * key named with where it sits. Taken, it would be dropped without a word (the submission's
 * checks copy `env` key by key, and `__proto__` is no key a copy makes), so a variable set with
 * --setEnv would vanish; no field of the API, nor any variable a job needs, is named so.
 */
export class BodyKeyRefusedError extends UserInputError {
  /** fastify answers an error from a body parser with this status. */
  readonly statusCode = 400;
  constructor(path: string) {
    const key = path.endsWith('.prototype') ? 'constructor' : '__proto__';
    super(
      'BODY_KEY_REFUSED',
      `the body holds the key ${key === 'constructor' ? '"constructor" with "prototype" in it' : '"__proto__"'} ` +
        `(at ${shownInError(path)}), which this leader refuses: such a key reaches an object's prototype ` +
        `in JavaScript, and no field of the API or variable name takes it`,
      { path },
    );
  }
}

/**
 * fastify's JSON parser with the prototype keys taken as data (JSON.parse makes `__proto__` an
 * own property, touching no prototype) and then refused by name: fastify's own refuses them with
 * the error it gives for a body that does not parse, which the API said as "not valid JSON".
 */
export function parseJsonRefusingPrototypeKeys(app: FastifyInstance): void {
  const parse = app.getDefaultJsonParser('ignore', 'ignore');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    void parse(req, body as string, (err, value) => {
      if (err) return done(err, undefined);
      const path = prototypeKeyPath(value);
      if (path !== undefined) return done(new BodyKeyRefusedError(path), undefined);
      done(null, value);
    });
  });
}

/** Where in a parsed JSON value the first key reaching a prototype sits (`env.__proto__`), if any. */
export function prototypeKeyPath(value: unknown, at = ''): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  if (Array.isArray(value)) {
    for (const [i, item] of value.entries()) {
      const found = prototypeKeyPath(item, `${at}[${i}]`);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  for (const key of Object.keys(value)) {
    const path = at === '' ? key : `${at}.${key}`;
    const inner: unknown = (value as Record<string, unknown>)[key];
    if (key === '__proto__') return path;
    if (key === 'constructor' && typeof inner === 'object' && inner !== null && 'prototype' in inner)
      return `${path}.prototype`;
    const found = prototypeKeyPath(inner, path);
    if (found !== undefined) return found;
  }
  return undefined;
}
