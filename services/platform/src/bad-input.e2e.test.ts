import { type ChildProcess, spawn } from "node:child_process";
import { createSocket, type Socket } from "node:dgram";
import { once } from "node:events";
import { connect } from "node:net";
import { fileURLToPath } from "node:url";
import { answerChallenge, parseChallenges, parseMessage, type SipResponse } from "@sip-platform/sip";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";

/**
 * Bad input against the one-process platform (`dist/main.js`, in-memory database, ports chosen by
 * the OS): malformed and hostile REGISTERs over UDP from a raw socket, the registrar's limits after
 * digest authentication, and invalid REST bodies over real HTTP. After every SIP case the platform
 * still answers an OPTIONS with 200: it never stops serving.
 */
const MAIN = fileURLToPath(new URL("../dist/main.js", import.meta.url));
const TOKEN = "bad-input-admin-token-0123456789";
const DOMAIN = "bad-input.test";
/** How long "no answer" is waited for: the platform answers a datagram in well under 100 ms. */
const SILENCE_MS = 600;

let platform: ChildProcess;
let output = "";
const sip: Record<string, number> = {};
let admin = "";

interface ApiOptions {
  readonly token?: string | null;
  /** Sent as is (with content-type application/json) instead of JSON.stringify(body). */
  readonly raw?: string;
}

async function api(
  method: string,
  path: string,
  body?: unknown,
  options: ApiOptions = {},
): Promise<{ status: number; json: unknown }> {
  const token = options.token === undefined ? TOKEN : options.token;
  const payload = options.raw ?? (body === undefined ? undefined : JSON.stringify(body));
  const res = await fetch(`${admin}${path}`, {
    method,
    headers: {
      ...(token === null ? {} : { authorization: `Bearer ${token}` }),
      ...(payload === undefined ? {} : { "content-type": "application/json" }),
    },
    ...(payload === undefined ? {} : { body: payload }),
    signal: AbortSignal.timeout(5_000),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined };
}

/** A phone on a raw UDP socket: sends bytes, collects every datagram that comes back. */
class UdpPhone {
  readonly #socket: Socket;
  readonly #received: Buffer[] = [];
  readonly #waiters = new Set<() => void>();

  private constructor(socket: Socket) {
    this.#socket = socket;
    socket.on("message", (bytes) => {
      this.#received.push(bytes);
      for (const w of this.#waiters) w();
    });
  }

  static async open(): Promise<UdpPhone> {
    const socket = createSocket("udp4");
    await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
    return new UdpPhone(socket);
  }

  get port(): number {
    return this.#socket.address().port;
  }

  send(bytes: Buffer | string): Promise<void> {
    return new Promise((resolve, reject) =>
      this.#socket.send(typeof bytes === "string" ? Buffer.from(bytes) : bytes, sip.udp!, "127.0.0.1", (e) =>
        e ? reject(e) : resolve(),
      ),
    );
  }

  /** The first datagram matching `match` (looking at those already received too), or undefined after `ms`. */
  async next(match: (bytes: Buffer) => boolean, ms: number): Promise<Buffer | undefined> {
    const deadline = Date.now() + ms;
    for (;;) {
      const i = this.#received.findIndex(match);
      if (i >= 0) return this.#received.splice(i, 1)[0];
      const left = deadline - Date.now();
      if (left <= 0) return undefined;
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          this.#waiters.delete(done);
          resolve();
        };
        const timer = setTimeout(done, left);
        this.#waiters.add(done);
      });
    }
  }

  /** Sends a request and resolves with its final response (matched on Call-ID), or undefined. */
  async request(text: string | Buffer, callId: string, ms = 3_000): Promise<SipResponse | undefined> {
    await this.send(text);
    const bytes = await this.next((b) => {
      const m = tryParse(b);
      return m !== undefined && m.callId() === callId && m.status >= 200;
    }, ms);
    return bytes === undefined ? undefined : tryParse(bytes);
  }

  /** Whatever came back within `ms`, as text (undefined: nothing did). */
  async anything(ms = SILENCE_MS): Promise<string | undefined> {
    return (await this.next(() => true, ms))?.toString("latin1");
  }

  close(): void {
    this.#socket.close();
  }
}

function tryParse(bytes: Buffer): SipResponse | undefined {
  try {
    const m = parseMessage(bytes);
    return m.isRequest() ? undefined : (m as SipResponse);
  } catch {
    return undefined;
  }
}

let sequence = 0;
const unique = (what: string) => `${what}-${process.pid}-${++sequence}`;

interface RegisterSpec {
  readonly user?: string;
  readonly callId: string;
  readonly cseq?: number;
  /** Whole Contact header lines; default one Contact for the phone. */
  readonly contactLines?: readonly string[];
  readonly expires?: string;
  readonly authorization?: string;
  /** Header lines replaced as they are (`From`, `CSeq`…): name → line, or null to leave it out. */
  readonly override?: Readonly<Record<string, string | null>>;
  readonly extra?: readonly string[];
}

function register(phone: UdpPhone, s: RegisterSpec): string {
  const user = s.user ?? "alice";
  const headers: Array<[string, string]> = [
    ["Via", `Via: SIP/2.0/UDP 127.0.0.1:${phone.port};branch=z9hG4bK${unique("b")};rport`],
    ["Max-Forwards", "Max-Forwards: 70"],
    ["From", `From: <sip:${user}@${DOMAIN}>;tag=${unique("f")}`],
    ["To", `To: <sip:${user}@${DOMAIN}>`],
    ["Call-ID", `Call-ID: ${s.callId}`],
    ["CSeq", `CSeq: ${s.cseq ?? 1} REGISTER`],
  ];
  const lines: string[] = [`REGISTER sip:${DOMAIN} SIP/2.0`];
  for (const [name, line] of headers) {
    const o = s.override?.[name];
    if (o === null) continue;
    lines.push(o ?? line);
  }
  lines.push(...(s.contactLines ?? [`Contact: <sip:${user}@127.0.0.1:${phone.port}>`]));
  if (s.expires !== undefined) lines.push(`Expires: ${s.expires}`);
  if (s.authorization !== undefined) lines.push(`Authorization: ${s.authorization}`);
  lines.push(...(s.extra ?? []), "User-Agent: bad-input-e2e", "Content-Length: 0", "", "");
  return lines.join("\r\n");
}

const PASSWORDS: Record<string, string> = { alice: "wonderland", bob: "builder-pw", carol: "c4r0l-pw" };

/**
 * What a phone does: the REGISTER, the 401, the same REGISTER with the next CSeq and the answer to
 * the first (MD5) challenge. Resolves with the final response to the authenticated one.
 */
async function registerWithAuth(
  phone: UdpPhone,
  spec: Omit<RegisterSpec, "callId" | "cseq" | "authorization">,
): Promise<SipResponse> {
  const callId = unique("auth");
  const user = spec.user ?? "alice";
  const first = await phone.request(register(phone, { ...spec, callId, cseq: 1 }), callId);
  expect(first?.status, "the unauthenticated REGISTER is challenged").toBe(401);
  const challenge = parseChallenges(first!.headerLines("WWW-Authenticate")[0]!)[0]!;
  const answer = answerChallenge(challenge, {
    username: user,
    password: PASSWORDS[user]!,
    method: "REGISTER",
    uri: `sip:${DOMAIN}`,
  });
  if (!answer.ok) throw new Error(answer.reason);
  const res = await phone.request(
    register(phone, { ...spec, callId, cseq: 2, authorization: answer.value }),
    callId,
  );
  expect(res, "the authenticated REGISTER is answered").toBeDefined();
  return res!;
}

async function optionsStatus(): Promise<number | undefined> {
  const phone = await UdpPhone.open();
  try {
    const callId = unique("options");
    const res = await phone.request(
      [
        `OPTIONS sip:127.0.0.1:${sip.udp} SIP/2.0`,
        `Via: SIP/2.0/UDP 127.0.0.1:${phone.port};branch=z9hG4bK${unique("o")};rport`,
        "Max-Forwards: 70",
        `From: <sip:probe@${DOMAIN}>;tag=${unique("t")}`,
        `To: <sip:127.0.0.1:${sip.udp}>`,
        `Call-ID: ${callId}`,
        "CSeq: 1 OPTIONS",
        "Content-Length: 0",
        "",
        "",
      ].join("\r\n"),
      callId,
    );
    return res?.status;
  } finally {
    phone.close();
  }
}

async function subscriberId(username: string): Promise<string> {
  const list = (await api("GET", `/v1/subscribers?domain=${DOMAIN}`)).json as {
    items: Array<{ id: string; username: string }>;
  };
  const id = list.items.find((s) => s.username === username)?.id;
  if (id === undefined) throw new Error(`no subscriber ${username}`);
  return id;
}

async function registrationsOf(username: string): Promise<Array<{ contact: string }>> {
  return (await api("GET", `/v1/subscribers/${await subscriberId(username)}/registrations`)).json as Array<{
    contact: string;
  }>;
}

/** A deterministic byte soup (xorshift32), so a failure can be replayed. */
function noise(length: number, seed: number): Buffer {
  const out = Buffer.alloc(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

beforeAll(async () => {
  platform = spawn(process.execPath, [MAIN], {
    env: {
      ...process.env,
      SIP_LISTEN: "127.0.0.1",
      SIP_PORT: "0",
      REDIRECT_PORT: "0",
      SIP_WS_PORT: "0",
      ADMIN_PORT: "0",
      ADMIN_TOKEN: TOKEN,
      DATABASE_URL: "memory:",
      LOG_LEVEL: "warn",
      NATS_URL: "",
      REDIS_URL: "",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  platform.stderr!.on("data", (chunk) => {
    output = (output + String(chunk)).slice(-20_000);
  });
  let banner = "";
  const started = (async () => {
    // Not destroyed on break: a closed pipe would make the platform's next log line fail with EPIPE.
    for await (const chunk of platform.stdout!.iterator({ destroyOnReturn: false })) {
      banner += String(chunk);
      if (banner.includes("Admin token")) return;
    }
    throw new Error(`the platform exited before its banner: ${output}`);
  })();
  await Promise.race([
    started,
    new Promise((_, reject) => setTimeout(() => reject(new Error("no banner within 20 s")), 20_000)),
  ]);
  platform.stdout!.on("data", (chunk) => {
    output = (output + String(chunk)).slice(-20_000);
  });
  for (const m of banner.matchAll(/(udp|tcp|ws) 127\.0\.0\.1:(\d+)/g)) sip[m[1]!] = Number(m[2]);
  admin = /Admin API: (http:\/\/\S+)/.exec(banner)?.[1] ?? "";
  expect(admin).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  expect((await api("POST", "/v1/domains", { name: DOMAIN })).status).toBe(201);
  for (const [username, password] of Object.entries(PASSWORDS))
    expect((await api("POST", "/v1/subscribers", { username, domain: DOMAIN, password })).status).toBe(201);
}, 30_000);

afterAll(async () => {
  if (platform && platform.exitCode === null && platform.signalCode === null) {
    platform.kill("SIGTERM");
    const exited = once(platform, "exit");
    const timer = setTimeout(() => platform.kill("SIGKILL"), 5_000);
    await exited;
    clearTimeout(timer);
  }
}, 10_000);

describe("malformed and hostile REGISTERs over UDP (and one over TCP)", () => {
  const phones: UdpPhone[] = [];
  const openPhone = async () => {
    const phone = await UdpPhone.open();
    phones.push(phone);
    return phone;
  };

  afterEach(async () => {
    for (const p of phones.splice(0)) p.close();
    expect(platform.exitCode, `the platform exited; its output:\n${output}`).toBeNull();
    expect(await optionsStatus(), "OPTIONS to the platform after the bad input").toBe(200);
  });

  it("a REGISTER without From → 400 naming From", async () => {
    const phone = await openPhone();
    const callId = unique("nofrom");
    const res = await phone.request(register(phone, { callId, override: { From: null } }), callId);
    expect(res?.status).toBe(400);
    expect(res?.reason).toMatch(/From/);
  });

  it("a bad CSeq → 400 naming CSeq (a number that is not one, a method that is not the request's)", async () => {
    const phone = await openPhone();
    const notNumber = unique("cseq");
    const res = await phone.request(
      register(phone, { callId: notNumber, override: { CSeq: "CSeq: abc REGISTER" } }),
      notNumber,
    );
    expect(res?.status).toBe(400);
    expect(res?.reason).toMatch(/CSeq/);
    const wrongMethod = unique("cseq");
    const res2 = await phone.request(
      register(phone, { callId: wrongMethod, override: { CSeq: "CSeq: 1 INVITE" } }),
      wrongMethod,
    );
    expect(res2?.status).toBe(400);
    expect(res2?.reason).toMatch(/CSeq/);
  });

  it("a Contact with an unterminated quote → 400 naming Contact", async () => {
    const phone = await openPhone();
    const callId = unique("quote");
    const res = await phone.request(
      register(phone, { callId, contactLines: [`Contact: "Alice <sip:alice@127.0.0.1:${phone.port}>`] }),
      callId,
    );
    expect(res?.status).toBe(400);
    expect(res?.reason).toMatch(/Contact/);
  });

  it("Expires: abc → 401 before authentication (not read yet), 400 naming Expires after it", async () => {
    const phone = await openPhone();
    const res = await registerWithAuth(phone, { expires: "abc" });
    expect(res.status).toBe(400);
    expect(res.reason).toMatch(/Expires/);
    expect(await registrationsOf("alice")).toEqual([]);
  });

  it("a 70 KB datagram cannot even be sent; the largest one UDP carries (65 507 B) is dropped unanswered", async () => {
    const phone = await openPhone();
    const head = register(phone, { callId: unique("huge") }).replace(
      "Content-Length: 0\r\n",
      `X-Padding: ${"a".repeat(1000)}\r\nContent-Length: 0\r\n`,
    );
    const body = "x".repeat(70 * 1024);
    const seventy = Buffer.from(head.replace("Content-Length: 0", `Content-Length: ${body.length}`) + body);
    expect(seventy.length).toBeGreaterThan(70 * 1024);
    await expect(phone.send(seventy), "the OS refuses a UDP datagram over 65 507 B").rejects.toThrow(
      /EMSGSIZE/,
    );
    const max = seventy.subarray(0, 65_507);
    await phone.send(max);
    expect(await phone.anything(), "no answer to a datagram over the 32 KiB limit").toBeUndefined();
  });

  it("70 KB over TCP → 513 Message Too Large, then the platform closes the connection", async () => {
    const callId = unique("huge-tcp");
    const body = "x".repeat(70 * 1024);
    const text = [
      `REGISTER sip:${DOMAIN} SIP/2.0`,
      `Via: SIP/2.0/TCP 127.0.0.1:9;branch=z9hG4bK${unique("t")}`,
      "Max-Forwards: 70",
      `From: <sip:alice@${DOMAIN}>;tag=${unique("f")}`,
      `To: <sip:alice@${DOMAIN}>`,
      `Call-ID: ${callId}`,
      "CSeq: 1 REGISTER",
      `Content-Length: ${body.length}`,
      "",
      body,
    ].join("\r\n");
    const socket = connect(sip.tcp!, "127.0.0.1");
    let received = "";
    socket.on("data", (d) => {
      received += d.toString("latin1");
    });
    socket.on("error", () => {}); // the platform may reset the connection after its answer
    let timer: NodeJS.Timeout | undefined;
    const closed = new Promise<boolean>((resolve) => {
      socket.once("close", () => resolve(true));
      timer = setTimeout(() => resolve(false), 4_000);
    });
    await once(socket, "connect");
    socket.write(text);
    const closedByPlatform = await closed;
    clearTimeout(timer);
    socket.destroy();
    expect(received).toMatch(/^SIP\/2\.0 513 /);
    expect(closedByPlatform, "the platform closes a stream it cannot resynchronise").toBe(true);
    expect(received).toContain(`Call-ID: ${callId}`);
  });

  it("random bytes are dropped unanswered", async () => {
    const phone = await openPhone();
    for (const seed of [1, 42, 0xc0ffee]) await phone.send(noise(700, seed));
    // Bytes that start like SIP but go nowhere.
    await phone.send("REGISTER \x00\xff\r\n\r\n");
    await phone.send("SIP/2.0 200\r\n\r\n");
    expect(await phone.anything()).toBeUndefined();
  });

  it("1000 Contacts: as 1000 header lines (over the 32 KiB and 256-header limits) dropped unanswered; packed into 10 lines (19 KB) → 403 Too Many Contacts after auth", async () => {
    const phone = await openPhone();
    const perLine = Array.from({ length: 1000 }, (_, i) => `Contact: <sip:alice-${i}@192.0.2.1:5060>`);
    const big = register(phone, { callId: unique("1000"), contactLines: perLine, expires: "300" });
    expect(big.length).toBeGreaterThan(32 * 1024);
    expect(big.length).toBeLessThan(65_507);
    await phone.send(big);
    expect(await phone.anything()).toBeUndefined();

    const packed = Array.from(
      { length: 10 },
      (_, line) =>
        `Contact: ${Array.from({ length: 100 }, (_, i) => `<sip:c${line * 100 + i}@192.0.2.1>`).join(",")}`,
    );
    const res = await registerWithAuth(phone, { user: "carol", contactLines: packed, expires: "300" });
    expect(res.status).toBe(403);
    expect(res.reason).toBe("Too Many Contacts");
    expect(await registrationsOf("carol")).toEqual([]);
  });

  it("11 Contacts (the per-AoR maximum is 10) after auth → 403 Too Many Contacts; 10 → 200", async () => {
    const phone = await openPhone();
    const contacts = (n: number) =>
      Array.from({ length: n }, (_, i) => `Contact: <sip:bob@192.0.2.${i + 1}:5060>`);
    const tooMany = await registerWithAuth(phone, {
      user: "bob",
      contactLines: contacts(11),
      expires: "300",
    });
    expect(tooMany.status).toBe(403);
    expect(tooMany.reason).toBe("Too Many Contacts");
    expect(await registrationsOf("bob")).toEqual([]);
    const ten = await registerWithAuth(phone, { user: "bob", contactLines: contacts(10), expires: "300" });
    expect(ten.status).toBe(200);
    expect(ten.headerLines("Contact")).toHaveLength(10);
    // One more on top of the ten is over the limit too.
    const eleventh = await registerWithAuth(phone, {
      user: "bob",
      contactLines: ["Contact: <sip:bob@192.0.2.99:5060>"],
      expires: "300",
    });
    expect(eleventh.status).toBe(403);
    expect(eleventh.reason).toBe("Too Many Contacts");
    expect(await registrationsOf("bob")).toHaveLength(10);
  });

  it("Expires: 30 after auth → 423 Interval Too Brief with Min-Expires: 60", async () => {
    const phone = await openPhone();
    const res = await registerWithAuth(phone, { expires: "30" });
    expect(res.status).toBe(423);
    expect(res.header("Min-Expires")).toBe("60");
    expect(await registrationsOf("alice")).toEqual([]);
  });

  it("Contact: * with Expires: 0 removes every binding; Contact: * without Expires: 0 → 400", async () => {
    const phone = await openPhone();
    const two = await registerWithAuth(phone, {
      contactLines: ["Contact: <sip:alice@192.0.2.1:5060>", "Contact: <sip:alice@192.0.2.2:5060>"],
      expires: "300",
    });
    expect(two.status).toBe(200);
    expect(await registrationsOf("alice")).toHaveLength(2);

    const noExpires = await registerWithAuth(phone, { contactLines: ["Contact: *"] });
    expect(noExpires.status).toBe(400);
    expect(noExpires.reason).toMatch(/Expires: 0/);
    const nonZero = await registerWithAuth(phone, { contactLines: ["Contact: *"], expires: "3600" });
    expect(nonZero.status).toBe(400);
    expect(await registrationsOf("alice")).toHaveLength(2);

    const all = await registerWithAuth(phone, { contactLines: ["Contact: *"], expires: "0" });
    expect(all.status).toBe(200);
    expect(all.headerLines("Contact")).toEqual([]);
    expect(await registrationsOf("alice")).toEqual([]);
  });
});

describe("invalid REST bodies over HTTP", () => {
  type ErrorBody = { error: { code: string; message: string } };
  const errorOf = (json: unknown) => (json as ErrorBody).error;

  it("POST /v1/subscribers without username → 400 naming username", async () => {
    const res = await api("POST", "/v1/subscribers", { domain: DOMAIN, password: "x-password" });
    expect(res.status).toBe(400);
    expect(errorOf(res.json)).toMatchObject({
      code: "BAD_REQUEST",
      message: expect.stringMatching(/username/),
    });
  });

  it("POST /v1/subscribers with a wrong type or an unknown property → 400 naming the field", async () => {
    const wrongType = await api("POST", "/v1/subscribers", {
      username: 42,
      domain: DOMAIN,
      password: "pw-1234",
    });
    expect(wrongType.status).toBe(400);
    expect(errorOf(wrongType.json).message).toMatch(/username/);
    const extra = await api("POST", "/v1/subscribers", {
      username: "dave",
      domain: DOMAIN,
      password: "pw-1234",
      ha1: "deadbeef",
    });
    expect(extra.status).toBe(400);
    expect(errorOf(extra.json).message).toMatch(/ha1/);
  });

  it('PATCH /v1/subscribers/{id} with enabled: "yes" → 400 naming enabled, and nothing changes', async () => {
    const id = await subscriberId("carol");
    const res = await api("PATCH", `/v1/subscribers/${id}`, { enabled: "yes" });
    expect(res.status).toBe(400);
    expect(errorOf(res.json)).toMatchObject({
      code: "BAD_REQUEST",
      message: expect.stringMatching(/enabled/),
    });
    expect(((await api("GET", `/v1/subscribers/${id}`)).json as { enabled: boolean }).enabled).toBe(true);
  });

  it("a subscriber in an unknown domain → 422 naming the domain", async () => {
    const res = await api("POST", "/v1/subscribers", {
      username: "erin",
      domain: "nowhere.test",
      password: "pw-1234",
    });
    expect(res.status).toBe(422);
    expect(errorOf(res.json)).toMatchObject({
      code: "UNKNOWN_DOMAIN",
      message: expect.stringMatching(/nowhere\.test/),
    });
  });

  it("a duplicate subscriber → 409", async () => {
    const res = await api("POST", "/v1/subscribers", {
      username: "alice",
      domain: DOMAIN,
      password: "again-pw",
    });
    expect(res.status).toBe(409);
    expect(errorOf(res.json)).toMatchObject({
      code: "ALREADY_EXISTS",
      message: expect.stringMatching(/alice/),
    });
  });

  it("no token or a wrong token → 401, and nothing is created", async () => {
    const body = { username: "mallory", domain: DOMAIN, password: "pw-1234" };
    const none = await api("POST", "/v1/subscribers", body, { token: null });
    expect(none.status).toBe(401);
    expect(errorOf(none.json).code).toBe("UNAUTHORIZED");
    const wrong = await api("POST", "/v1/subscribers", body, { token: "not-the-token" });
    expect(wrong.status).toBe(401);
    expect(errorOf(wrong.json).code).toBe("UNAUTHORIZED");
    await expect(subscriberId("mallory")).rejects.toThrow(/no subscriber/);
  });

  it("malformed JSON → 400 with the error shape", async () => {
    const res = await api("POST", "/v1/subscribers", undefined, { raw: '{"username": "frank", "domain": ' });
    expect(res.status).toBe(400);
    expect(errorOf(res.json)).toMatchObject({ code: "BAD_REQUEST", message: expect.any(String) });
    const patch = await api("PATCH", `/v1/subscribers/${await subscriberId("carol")}`, undefined, {
      raw: "{enabled: false}",
    });
    expect(patch.status).toBe(400);
    expect(errorOf(patch.json).code).toBe("BAD_REQUEST");
  });

  it("the API still serves after all of it", async () => {
    expect((await api("GET", "/healthz")).status).toBe(200);
    expect(platform.exitCode).toBeNull();
  });
});
