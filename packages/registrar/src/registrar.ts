import { createHmac } from "node:crypto";
import {
  type ApplyResult,
  type Binding,
  type BindingChange,
  type BindingStore,
  type FlowRef,
  normalizeAor,
  type ReceivedFrom,
  type RegisterContext,
} from "@sip-platform/bindings";
import {
  buildChallenge,
  checkNonce,
  createNonce,
  createResponse,
  type DigestCredentials,
  digestHashOf,
  isSipUri,
  type NonceCheck,
  parseCredentials,
  parseUri,
  resolveDigestAlgorithm,
  SipParseError,
  type SipRequest,
  type SipResponse,
  verifyCredentials,
} from "@sip-platform/sip";
import { contactChange } from "./contacts.js";
import { REGISTER_FAILURES, type RegisterFailure } from "./outcome.js";
import type { RegistrarPolicy } from "./policy.js";
import type { CredentialsSource, DomainDirectory } from "./ports.js";

/** Where the REGISTER came from, as the edge saw it. */
export interface RegisterOrigin {
  readonly received?: ReceivedFrom;
  readonly flow?: FlowRef;
}

export interface RegistrarDeps {
  readonly bindings: BindingStore;
  readonly credentials: CredentialsSource;
  readonly domains: DomainDirectory;
  readonly policy: RegistrarPolicy;
  readonly now?: () => number;
}

/** Extensions we implement (RFC 3327 Path, RFC 5626 outbound); anything else in Require gets 420. */
const SUPPORTED = ["path", "outbound"];

/**
 * A registrar per RFC 3261 §10.3, stateless between requests: nonces are HMAC-signed (any
 * instance verifies any nonce), bindings live in the BindingStore, credentials come from the
 * subscriber store. `handle` always resolves with the response to send; it never throws.
 */
export class Registrar {
  readonly #deps: RegistrarDeps;
  readonly #now: () => number;

  constructor(deps: RegistrarDeps) {
    this.#deps = deps;
    this.#now = deps.now ?? Date.now;
  }

  async handle(req: SipRequest, origin: RegisterOrigin = {}): Promise<SipResponse> {
    try {
      return await this.#register(req, origin);
    } catch (err) {
      if (err instanceof SipParseError) return this.#fail(req, "BAD_REQUEST", `Bad Request (${err.message})`);
      if (isUnavailable(err)) return this.#fail(req, "UNAVAILABLE", undefined, [["Retry-After", "5"]]);
      throw err;
    }
  }

  async #register(req: SipRequest, origin: RegisterOrigin): Promise<SipResponse> {
    const { policy } = this.#deps;
    // Step 1: the Request-URI names a domain we serve.
    const ruri = parseUri(req.uri);
    if (!isSipUri(ruri))
      return this.#fail(req, "BAD_REQUEST", "Bad Request (Request-URI must be sip: or sips:)");
    const to = parseUri(req.to().uri);
    if (!isSipUri(to) || to.user === undefined)
      return this.#fail(req, "BAD_REQUEST", "Bad Request (To is not an AoR)");
    const domain = to.host.toLowerCase();
    if (!(await this.#deps.domains.isLocal(domain))) return this.#fail(req, "DOMAIN_NOT_SERVED");

    // Step 2: Require.
    const unsupported = req.headerValues("Require").filter((o) => !SUPPORTED.includes(o.toLowerCase()));
    if (unsupported.length > 0)
      return this.#fail(req, "UNSUPPORTED_EXTENSION", undefined, [["Unsupported", unsupported.join(", ")]]);

    // Step 3: authentication, realm = domain. A phone may answer every challenge of the realm
    // (one Authorization per algorithm): the first one that verifies counts.
    const offered = this.#credentialsFor(req, domain);
    let authorization: DigestCredentials | undefined;
    let nonce: NonceCheck = "invalid";
    let authentic = false;
    for (const c of offered) {
      const check = checkNonce(policy.secret, domain, c.nonce, this.#now(), policy.nonceTtlMs);
      if (check === "invalid") continue;
      authentic = true;
      if (await this.#verifies(c, req, domain)) {
        authorization = c;
        nonce = check;
        break;
      }
    }
    // No credentials, or only forged / foreign nonces: challenge. Ours but wrong: one answer for all.
    if (!authentic) return this.#challenge(req, domain, false);
    if (authorization === undefined) return this.#fail(req, "AUTH_FAILED");
    // RFC 7616 §3.3: right credentials on an old nonce → a fresh challenge the phone answers silently.
    if (nonce === "stale") return this.#challenge(req, domain, true);

    // Step 4: the authenticated user may only change its own bindings.
    if (to.user !== authorization.username) return this.#fail(req, "NOT_OWNER");
    const aor = normalizeAor(`sip:${to.user}@${domain}`);

    // Steps 6–7: contacts and expiry.
    const ctx: RegisterContext = {
      callId: req.callId() ?? "",
      cseq: req.cseq().seq,
      path: req.headerValues("Path"),
      ...(origin.received ? { received: origin.received } : {}),
      ...(origin.flow ? { flow: origin.flow } : {}),
      ...(req.header("User-Agent") ? { userAgent: req.header("User-Agent") } : {}),
      now: this.#now(),
      maxContacts: policy.maxContacts,
    };
    const contacts = req.contacts();
    const expiresHeader = req.expires();
    let result: ApplyResult;
    if (contacts === "*") {
      // §10.3 step 6: "*" only with Expires: 0 and no other Contact.
      if (expiresHeader !== 0)
        return this.#fail(req, "BAD_REQUEST", "Bad Request (Contact: * needs Expires: 0)");
      result = await this.#deps.bindings.removeAll(aor, ctx);
    } else if (contacts.length === 0) {
      result = { ok: true, bindings: await this.#deps.bindings.lookup(aor, ctx.now) };
    } else {
      const changes: BindingChange[] = [];
      for (const c of contacts) {
        const r = contactChange(c, expiresHeader, policy);
        if (!r.ok) return this.#fail(req, "BAD_REQUEST", `Bad Request (${r.why})`);
        if (r.requested > 0 && r.requested < policy.minExpires)
          return this.#fail(req, "INTERVAL_TOO_BRIEF", undefined, [
            ["Min-Expires", String(policy.minExpires)],
          ]);
        changes.push(r.change);
      }
      result = await this.#deps.bindings.apply(aor, changes, ctx);
    }
    if (!result.ok)
      return this.#fail(req, result.reason === "out-of-order" ? "OUT_OF_ORDER" : "TOO_MANY_CONTACTS");
    return this.#ok(req, result.bindings, ctx.now);
  }

  /** The request's credentials for this realm, in order (a phone may send several). */
  #credentialsFor(req: SipRequest, realm: string): DigestCredentials[] {
    return req
      .headerLines("Authorization")
      .map((value) => parseCredentials(value, "Authorization"))
      .filter((c) => c.realm.toLowerCase() === realm);
  }

  /** Unknown user, disabled account, unsupported algorithm and wrong password all read as false. */
  async #verifies(c: DigestCredentials, req: SipRequest, realm: string): Promise<boolean> {
    const algorithm = resolveDigestAlgorithm(c.algorithm);
    if (algorithm === undefined) return false;
    const stored = await this.#deps.credentials.find(c.username, realm);
    const ha1 = stored?.enabled ? stored.ha1[digestHashOf(algorithm)] : undefined;
    return ha1 !== undefined && verifyCredentials(c, { method: req.method, ha1, realm });
  }

  /** 401 with one challenge per configured algorithm, in order (RFC 8760 §2.3). */
  #challenge(req: SipRequest, realm: string, stale: boolean): SipResponse {
    const { policy } = this.#deps;
    const nonce = createNonce(policy.secret, realm, this.#now());
    const headers: Array<[string, string]> = policy.algorithms.map((algorithm) => [
      "WWW-Authenticate",
      buildChallenge({ realm, nonce, algorithm, qop: "auth", ...(stale ? { stale: true } : {}) }),
    ]);
    headers.push(["Server", policy.server]);
    return createResponse(req, 401, { toTag: this.#toTag(req), headers });
  }

  /** 200 with every live binding and its remaining time (§10.3 step 8), Path echoed (RFC 3327 §5.3). */
  #ok(req: SipRequest, bindings: readonly Binding[], now: number): SipResponse {
    const headers: Array<[string, string]> = bindings.map((b) => ["Contact", contactValue(b, now)]);
    for (const p of req.headerLines("Path")) headers.push(["Path", p]);
    headers.push(
      ["Date", new Date(now).toUTCString()],
      ["Supported", SUPPORTED.join(", ")],
      ["Server", this.#deps.policy.server],
    );
    return createResponse(req, 200, { toTag: this.#toTag(req), headers });
  }

  #fail(
    req: SipRequest,
    failure: RegisterFailure,
    reason?: string,
    extra: Array<[string, string]> = [],
  ): SipResponse {
    const f = REGISTER_FAILURES[failure];
    return createResponse(req, f.status, {
      reason: reason ?? f.reason,
      toTag: this.#toTag(req),
      headers: [...extra, ["Server", this.#deps.policy.server]],
    });
  }

  /**
   * A To tag derived from the request, so that the same request always gets a byte-identical
   * answer: an unknown user and a wrong password cannot be told apart by anything in the response.
   */
  #toTag(req: SipRequest): string {
    return createHmac("sha256", this.#deps.policy.secret)
      .update(`${req.callId() ?? ""}\n${req.header("CSeq") ?? ""}`)
      .digest("hex")
      .slice(0, 16);
  }
}

function contactValue(b: Binding, now: number): string {
  let v = `<${b.contact}>;expires=${Math.max(0, Math.round((b.expiresAt - now) / 1000))}`;
  if (b.q !== 1) v += `;q=${b.q}`;
  if (b.instanceId) v += `;+sip.instance="<${b.instanceId}>"`;
  if (b.regId !== undefined) v += `;reg-id=${b.regId}`;
  return v;
}

/** Backing-store errors carry the SIP status they map to (503 when a store is down). */
function isUnavailable(err: unknown): boolean {
  return typeof err === "object" && err !== null && (err as { sipStatus?: unknown }).sipStatus === 503;
}
