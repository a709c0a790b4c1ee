/** The most characters of a request's path, or of a name in it, an error answer repeats. */
const MAX_SHOWN = 120;

/** `text` as an error answer repeats it: cut when long, saying how long it was. */
export function shownInError(text: string): string {
  return text.length > MAX_SHOWN ? `${text.slice(0, MAX_SHOWN)}… (${text.length} characters)` : text;
}

/** A request's path as an error answer repeats it: without its query, cut when long. */
export function shownPath(url: string): string {
  return shownInError(url.split('?')[0] ?? '');
}
