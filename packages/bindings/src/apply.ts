/**
 * The registration rules themselves (RFC 3261 §10.3 steps 6–8, RFC 5626 §6), as pure functions
 * over one AoR's bindings. `MemoryBindingStore` runs them directly; the Redis store's Lua script
 * (`redis-scripts.ts`) is their twin, and one contract suite holds both to the same answers.
 */
import { bindingIdentity } from "./aor.js";
import type { Binding, BindingChange, RegisterContext } from "./binding.js";

/** One AoR's bindings by identity (`bindingIdentity`). */
export type BindingMap = ReadonlyMap<string, Binding>;

export type Plan =
  | { readonly ok: true; readonly next: Map<string, Binding> }
  | { readonly ok: false; readonly reason: "out-of-order" | "too-many-contacts" };

/**
 * §10.3 step 7: "If the Call-ID value in the existing binding differs from the Call-ID value in
 * the request, the binding MUST be removed if the expiration time is zero and updated otherwise.
 * If they are the same, the registrar compares the CSeq value. If the value is higher than that of
 * the existing binding, it MUST update or remove the binding as above. If not, the update MUST be
 * aborted and the request fails."
 */
export function isOutOfOrder(stored: Pick<Binding, "callId" | "cseq">, ctx: RegisterContext): boolean {
  return stored.callId === ctx.callId && stored.cseq >= ctx.cseq;
}

/** A binding is live while `expiresAt > now`; at `expiresAt` it is gone. */
export function isLive(b: Binding, now: number): boolean {
  return b.expiresAt > now;
}

/** The binding a Contact of a REGISTER writes; optional fields absent rather than undefined. */
export function newBinding(aor: string, change: BindingChange, ctx: RegisterContext): Binding {
  const b: {
    -readonly [K in keyof Binding]: Binding[K];
  } = {
    aor,
    contact: change.contact,
    expiresAt: ctx.now + change.expiresSeconds * 1000,
    q: change.q,
    callId: ctx.callId,
    cseq: ctx.cseq,
    path: [...ctx.path],
    updatedAt: ctx.now,
  };
  if (change.instanceId !== undefined) b.instanceId = change.instanceId;
  if (change.regId !== undefined) b.regId = change.regId;
  if (ctx.received !== undefined) b.received = { ...ctx.received };
  if (ctx.flow !== undefined) b.flow = { ...ctx.flow };
  if (ctx.userAgent !== undefined) b.userAgent = ctx.userAgent;
  return b;
}

/**
 * Steps 7–8 for a REGISTER with Contacts: expired bindings are dropped first; every Contact that
 * matches a stored binding must pass the Call-ID/CSeq rule or the whole request fails and nothing
 * changes; then Expires 0 removes and anything else adds or refreshes; finally the AoR may hold at
 * most `maxContacts` bindings. Several Contacts with one identity: the last one wins.
 */
export function planApply(
  aor: string,
  current: BindingMap,
  changes: readonly BindingChange[],
  ctx: RegisterContext,
): Plan {
  const next = liveMap(current, ctx.now);
  const ids = changes.map(bindingIdentity);
  for (const id of ids) {
    const stored = next.get(id);
    if (stored !== undefined && isOutOfOrder(stored, ctx)) return { ok: false, reason: "out-of-order" };
  }
  for (let i = 0; i < changes.length; i++) {
    const change = changes[i]!;
    const id = ids[i]!;
    if (change.expiresSeconds === 0) next.delete(id);
    else next.set(id, newBinding(aor, change, ctx));
  }
  if (next.size > ctx.maxContacts) return { ok: false, reason: "too-many-contacts" };
  return { ok: true, next };
}

/** Step 6, `Contact: *` with `Expires: 0`: every live binding must pass the Call-ID/CSeq rule, then all go. */
export function planRemoveAll(current: BindingMap, ctx: RegisterContext): Plan {
  for (const b of current.values())
    if (isLive(b, ctx.now) && isOutOfOrder(b, ctx)) return { ok: false, reason: "out-of-order" };
  return { ok: true, next: new Map() };
}

function liveMap(current: BindingMap, now: number): Map<string, Binding> {
  const out = new Map<string, Binding>();
  for (const [id, b] of current) if (isLive(b, now)) out.set(id, b);
  return out;
}

/**
 * The order a proxy tries bindings in (RFC 3261 §16.6 step 1 leaves it to q): highest q first;
 * among equal q the most recently updated first; then by contact, instance and reg-id, which
 * together determine the identity, so the order is total and every store returns the same list.
 */
export function compareBindings(a: Binding, b: Binding): number {
  if (a.q !== b.q) return b.q - a.q;
  if (a.updatedAt !== b.updatedAt) return b.updatedAt - a.updatedAt;
  if (a.contact !== b.contact) return a.contact < b.contact ? -1 : 1;
  const ai = a.instanceId ?? "";
  const bi = b.instanceId ?? "";
  if (ai !== bi) return ai < bi ? -1 : 1;
  return (a.regId ?? -1) - (b.regId ?? -1);
}

/** Live bindings in `compareBindings` order. */
export function liveSorted(bindings: Iterable<Binding>, now: number): Binding[] {
  const out: Binding[] = [];
  for (const b of bindings) if (isLive(b, now)) out.push(b);
  return out.sort(compareBindings);
}

/**
 * Checks what the registrar hands over before anything is stored: a bad number here is a bug in
 * the caller, so it throws `RangeError` rather than producing a binding that never expires.
 */
export function checkRequest(changes: readonly BindingChange[] | undefined, ctx: RegisterContext): void {
  if (!Number.isFinite(ctx.now)) throw new RangeError(`now must be a finite epoch ms, got ${ctx.now}`);
  if (!Number.isSafeInteger(ctx.cseq) || ctx.cseq < 0)
    throw new RangeError(`CSeq must be a non-negative integer, got ${ctx.cseq}`);
  if (!Number.isSafeInteger(ctx.maxContacts) || ctx.maxContacts < 0)
    throw new RangeError(`maxContacts must be a non-negative integer, got ${ctx.maxContacts}`);
  if (changes === undefined) return;
  for (const c of changes) {
    if (!Number.isFinite(c.expiresSeconds) || c.expiresSeconds < 0)
      throw new RangeError(`expires must be a non-negative number of seconds, got ${c.expiresSeconds}`);
    if (!(c.q >= 0 && c.q <= 1)) throw new RangeError(`q must be within 0..1, got ${c.q}`);
    if (c.regId !== undefined && (!Number.isSafeInteger(c.regId) || c.regId < 1))
      throw new RangeError(`reg-id must be a positive integer, got ${c.regId}`);
  }
}
