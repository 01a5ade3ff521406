/** The URIs in name-addr header values (`<sip:…>, <sip:…>`), in order. */
export function uris(values: readonly string[]): string[] {
  const list: string[] = [];
  for (const v of values) for (const m of v.matchAll(/<([^>]+)>/g)) list.push(m[1]!);
  return list;
}

/** The values of every header `name` (case-insensitive; not the compact form) in a message head. */
export function headerValues(head: string, name: string): string[] {
  const values: string[] = [];
  for (const line of head.split("\r\n")) {
    const colon = line.indexOf(":");
    if (colon > 0 && line.slice(0, colon).trim().toLowerCase() === name.toLowerCase())
      values.push(line.slice(colon + 1).trim());
  }
  return values;
}

/**
 * A loose-routing URI (`;lr`, RFC 3261 §19.1.1) naming `host:port`: what a proxy that stays in
 * the dialog puts in Record-Route (§16.6 step 4) for the side that sent or receives on that port.
 */
export function isLooseRouteTo(uri: string, host: string, port: number | undefined): boolean {
  if (port === undefined) return false;
  const hostPort = new RegExp(`^sips?:(?:[^@;]+@)?${host.replaceAll(".", "\\.")}:${port}(?:;|$)`);
  return hostPort.test(uri) && /;lr(?:[;=]|$)/.test(uri);
}
