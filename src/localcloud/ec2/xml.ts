/**
 * The EC2 response shape: lowerCamelCase elements, lists wrapped in `<item>`, under
 * `<{Action}Response xmlns=…>`. The SDK silently ignores misnamed elements, so every renderer here
 * uses EC2's exact element names.
 */
export const EC2_NS = 'http://ec2.amazonaws.com/doc/2016-11-15/';

export type XmlValue = string | number | boolean | Date | undefined | null;

/** Escapes text content (EC2 leaves quotes as they are; only markup characters need escaping). */
export function escapeXml(s: string): string {
  return s.replace(/[<>&]/g, (c) => (c === '<' ? '&lt;' : c === '>' ? '&gt;' : '&amp;'));
}

function text(v: Exclude<XmlValue, undefined | null>): string {
  if (v instanceof Date) return v.toISOString();
  return escapeXml(String(v));
}

/** `<name>value</name>`, or nothing when the value is absent. */
export function el(name: string, value: XmlValue): string {
  if (value === undefined || value === null) return '';
  return `<${name}>${text(value)}</${name}>`;
}

/** `<name>` around already-rendered children (which may be empty). */
export function node(name: string, children: string | readonly string[]): string {
  const inner = typeof children === 'string' ? children : children.join('');
  return inner === '' ? `<${name}/>` : `<${name}>${inner}</${name}>`;
}

/** `<name><item>…</item>…</name>`: EC2's list encoding. */
export function items<T>(name: string, list: readonly T[], render: (x: T) => string): string {
  return node(
    name,
    list.map((x) => `<item>${render(x)}</item>`),
  );
}

export function tagSet(tags: ReadonlyMap<string, string>): string {
  return items('tagSet', [...tags], ([k, v]) => el('key', k) + el('value', v));
}

export function responseDocument(action: string, requestId: string, body: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<${action}Response xmlns="${EC2_NS}">${el('requestId', requestId)}${body}</${action}Response>`;
}

export function errorDocument(code: string, message: string, requestId: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error>${el('Code', code)}${el('Message', message)}</Error></Errors>${el('RequestID', requestId)}</Response>`;
}
