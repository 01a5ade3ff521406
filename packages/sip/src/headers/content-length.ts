import { SipParseError } from "../errors.js";

/** Content-Length value in s[start, end) (already trimmed): 1 to 10 digits. `at` locates errors. */
export function parseContentLength(s: string, start: number, end: number, at: number): number {
  if (end <= start || end - start > 10)
    throw new SipParseError("BAD_CONTENT_LENGTH", "bad Content-Length", at, "Content-Length");
  let n = 0;
  for (let i = start; i < end; i++) {
    const d = s.charCodeAt(i) - 48;
    if (d < 0 || d > 9)
      throw new SipParseError("BAD_CONTENT_LENGTH", "Content-Length is not a number", at, "Content-Length");
    n = n * 10 + d;
  }
  return n;
}
