import type { BindingChange } from "@sip-platform/bindings";
import { type NameAddr, parseDecimal } from "@sip-platform/sip";

/** A Contact value turned into a binding change, or why it cannot be (answered 400). */
export type ContactResult =
  | { ok: true; change: BindingChange; requested: number }
  | { ok: false; why: string };

/**
 * §10.3 step 7: the expiry is the Contact's `expires` parameter, else the Expires header, else the
 * default; a non-zero value above the maximum is shortened. `q` must be 0..1 with up to three
 * decimals (§20.10). `+sip.instance` and `reg-id` identify a device's flow (RFC 5626 §4.2).
 */
export function contactChange(
  c: NameAddr,
  expiresHeader: number | undefined,
  defaults: { defaultExpires: number; maxExpires: number },
): ContactResult {
  const exp = c.params.get("expires");
  let requested = expiresHeader ?? defaults.defaultExpires;
  if (exp !== undefined) {
    const n = exp === null ? -1 : parseDecimal(exp, 0, exp.length, 10);
    if (n < 0) return { ok: false, why: "bad expires parameter" };
    requested = n;
  }
  const q = parseQ(c.params.get("q"));
  if (q === undefined) return { ok: false, why: "bad q value" };
  const instanceRaw = c.params.get("+sip.instance");
  const instanceId = instanceRaw ? stripInstance(instanceRaw) : undefined;
  const regIdRaw = c.params.get("reg-id");
  let regId: number | undefined;
  if (regIdRaw !== undefined) {
    const n = regIdRaw === null ? -1 : parseDecimal(regIdRaw, 0, regIdRaw.length, 10);
    if (n < 1 || n > 0x7fffffff) return { ok: false, why: "bad reg-id" };
    regId = n;
  }
  const expiresSeconds = Math.min(requested, defaults.maxExpires);
  return {
    ok: true,
    requested,
    change: {
      contact: c.uri,
      expiresSeconds,
      q,
      ...(instanceId ? { instanceId } : {}),
      ...(regId ? { regId } : {}),
    },
  };
}

/** qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ); absent means 1. */
function parseQ(v: string | null | undefined): number | undefined {
  if (v === undefined) return 1;
  if (v === null || !/^(0(\.\d{0,3})?|1(\.0{0,3})?)$/.test(v)) return undefined;
  return Number(v);
}

/** `"<urn:uuid:…>"` → `urn:uuid:…`. */
function stripInstance(v: string): string {
  let s = v;
  if (s.startsWith('"') && s.endsWith('"')) s = s.slice(1, -1);
  if (s.startsWith("<") && s.endsWith(">")) s = s.slice(1, -1);
  return s;
}
