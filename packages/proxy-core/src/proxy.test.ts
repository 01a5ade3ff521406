/**
 * The proxy core over an in-memory network: a caller (UAC) with its own transaction layer, the
 * proxy's transaction layer, and up to three callees (UAS), all on one fake clock. Messages go
 * through real transports (serialised, parsed, Via stamped), so what is checked is what a peer
 * would see on the wire.
 */
import { sipMessage } from "@sip-platform/fixtures/messages";
import {
  createResponse,
  newBranch,
  parseMessage,
  type SipRequest,
  type SipResponse,
} from "@sip-platform/sip";
import {
  createCancel,
  FakeClock,
  type ServerInviteTransaction,
  type ServerTransaction,
  TransactionLayer,
} from "@sip-platform/transaction";
import { type Flow, MemoryNetwork, type Target, type TransportLayer } from "@sip-platform/transport";
import { afterEach, describe, expect, it } from "vitest";
import { loopHash, loopHashOf } from "./branch.js";
import { type ForwardHooks, ProxyCore, type ProxyTarget, type ResponseContext } from "./proxy.js";

const PROXY = "10.0.0.2";
const UAC = "10.0.0.1";
const uasAddress = (i: number) => `10.0.1.${i + 1}`;

/** Everything that crossed the network, as "from → to: start line". */
interface Packet {
  readonly from: string;
  readonly to: string;
  readonly line: string;
  readonly message: SipRequest | SipResponse;
}

/** A callee: answers what the test tells it to; CANCEL → 200 and 487 for a pending INVITE (§9.2). */
class Uas {
  readonly invites: Array<{ readonly tx: ServerTransaction; readonly request: SipRequest }> = [];
  readonly cancels: SipRequest[] = [];
  readonly acks: SipRequest[] = [];
  readonly others: Array<{ readonly tx: ServerTransaction; readonly request: SipRequest }> = [];
  readonly toTag: string;
  /** A broken callee: CANCELs go unanswered and do not end the INVITE. */
  ignoreCancel = false;

  constructor(
    readonly index: number,
    readonly layer: TransactionLayer,
  ) {
    this.toTag = `uas${index}`;
    layer.onRequest((tx, request) => {
      if (request.method === "CANCEL") {
        this.cancels.push(request);
        if (this.ignoreCancel) return;
        tx.respond(createResponse(request, 200, { toTag: this.toTag }));
        const invite = layer.findInviteForCancel(request);
        if (invite?.state === "Proceeding") invite.respond(this.#response(invite.request, 487));
        return;
      }
      if (request.method === "INVITE") this.invites.push({ tx, request });
      else this.others.push({ tx, request });
    });
    layer.onAck((ack) => this.acks.push(ack));
  }

  get address(): string {
    return uasAddress(this.index);
  }

  get target(): ProxyTarget {
    return { uri: `sip:bob@${this.address}:5060`, destination: this.destination };
  }

  get destination(): Target {
    return { protocol: "udp", address: this.address, port: 5060 };
  }

  /** The INVITE it received (the only one unless said otherwise). */
  invite(n = 0): SipRequest {
    const i = this.invites[n];
    if (i === undefined) throw new Error(`UAS ${this.index} got no INVITE #${n}`);
    return i.request;
  }

  /** Answers the INVITE (or the other request) it received. */
  reply(status: number, headers: ReadonlyArray<readonly [string, string]> = [], n = 0): void {
    const pending = this.invites[n] ?? this.others[n];
    if (pending === undefined) throw new Error(`UAS ${this.index} has nothing to answer`);
    pending.tx.respond(this.#response(pending.request, status, headers));
  }

  replyOther(status: number, n = 0): void {
    const pending = this.others[n]!;
    pending.tx.respond(this.#response(pending.request, status));
  }

  #response(
    request: SipRequest,
    status: number,
    headers: ReadonlyArray<readonly [string, string]> = [],
  ): SipResponse {
    return createResponse(request, status, { toTag: this.toTag, headers });
  }
}

interface Plan {
  targets: readonly ProxyTarget[];
  hooks?: ForwardHooks;
}

interface World {
  readonly net: MemoryNetwork;
  readonly clock: FakeClock;
  readonly core: ProxyCore;
  readonly proxyLayer: TransactionLayer;
  readonly uacLayer: TransactionLayer;
  readonly uas: Uas[];
  readonly packets: Packet[];
  readonly contexts: ResponseContext[];
  /** Responses the caller's client transaction passed up, in order. */
  readonly heard: SipResponse[];
  /** Responses the proxy sent upstream, as the `onUpstream` hook saw them. */
  readonly upstream: SipResponse[];
  plan: (request: SipRequest) => Plan;
  /** Runs on the server transaction just before it is handed to the core. */
  beforeForward: ((tx: ServerTransaction) => void) | undefined;
  /** Sends a request from the caller to the proxy. */
  call(method?: string, extra?: readonly string[]): SipRequest;
  /** The caller cancels its INVITE (§9.1). */
  cancel(invite: SipRequest): void;
  settle(): Promise<void>;
  /** Advances the fake clock and lets the messages that causes cross the network. */
  advance(ms: number): Promise<void>;
  finals(): number[];
}

const transports: TransportLayer[] = [];
const layers: TransactionLayer[] = [];
const tuErrors: unknown[] = [];

afterEach(async () => {
  for (const l of layers.splice(0)) l.close();
  await Promise.all(transports.splice(0).map((t) => t.close()));
  const errors = tuErrors.splice(0);
  expect(errors).toEqual([]);
});

async function world(callees = 2, options: { timerCMs?: number; proxyTcp?: boolean } = {}): Promise<World> {
  const net = new MemoryNetwork();
  const clock = new FakeClock(1_000);
  const packets: Packet[] = [];
  net.hook = (p) => {
    const message = parseMessage(p.bytes) as SipRequest | SipResponse;
    packets.push({
      from: p.from.address,
      to: p.to.address,
      line: message.isRequest() ? message.method : String((message as SipResponse).status),
      message,
    });
    return undefined;
  };
  const layerOn = async (address: string, tcp = false): Promise<TransactionLayer> => {
    const t = await net.attach({
      listeners: [
        { protocol: "udp", address, port: 5060 },
        ...(tcp ? [{ protocol: "tcp" as const, address, port: 5060 }] : []),
      ],
    });
    transports.push(t);
    const layer = new TransactionLayer(t, {
      clock,
      tryingDelay: "never",
      onError: (e) => tuErrors.push(e),
    });
    layers.push(layer);
    return layer;
  };

  const proxyLayer = await layerOn(PROXY, options.proxyTcp);
  const uacLayer = await layerOn(UAC);
  const uas: Uas[] = [];
  for (let i = 0; i < callees; i++) uas.push(new Uas(i, await layerOn(uasAddress(i))));

  const upstream: SipResponse[] = [];
  const core = new ProxyCore({
    layer: proxyLayer,
    server: "proxy-core-test",
    ...(options.timerCMs !== undefined ? { timerCMs: options.timerCMs } : {}),
    via: (to: Target | Flow) => ({ transport: to.protocol.toUpperCase(), host: PROXY, port: 5060 }),
  });
  const contexts: ResponseContext[] = [];
  const w: World = {
    net,
    clock,
    core,
    proxyLayer,
    uacLayer,
    uas,
    packets,
    contexts,
    heard: [],
    upstream,
    plan: () => ({ targets: uas.map((u) => u.target) }),
    beforeForward: undefined,
    call(method = "INVITE", extra = []) {
      const request = parseMessage(
        sipMessage([
          `${method} sip:bob@example.test SIP/2.0`,
          `Via: SIP/2.0/UDP ${UAC}:5060;branch=${newBranch()};rport`,
          "Max-Forwards: 70",
          "Record-Route: <sip:upstream.example.test;lr>",
          "From: <sip:alice@example.test>;tag=caller1",
          "To: <sip:bob@example.test>",
          `Call-ID: ${newBranch()}@${UAC}`,
          `CSeq: 1 ${method}`,
          `Contact: <sip:alice@${UAC}:5060>`,
          ...extra,
          "Content-Length: 0",
        ]),
      ) as SipRequest;
      uacLayer.sendRequest(
        request,
        { protocol: "udp", address: PROXY, port: 5060 },
        {
          onResponse: (res) => w.heard.push(res),
        },
      );
      return request;
    },
    cancel(invite) {
      uacLayer.sendRequest(
        createCancel(invite),
        { protocol: "udp", address: PROXY, port: 5060 },
        {
          onResponse: () => {},
        },
      );
    },
    settle: () => net.settle(),
    async advance(ms) {
      clock.advance(ms);
      await net.settle();
    },
    finals: () => w.heard.filter((r) => r.status >= 200).map((r) => r.status),
  };

  proxyLayer.onRequest((tx, request) => {
    if (request.method === "CANCEL") {
      // §16.10: the CANCEL is answered here; the INVITE's branches are cancelled.
      const invite = proxyLayer.findInviteForCancel(request);
      const rc = invite !== undefined ? core.contextOf(invite) : undefined;
      tx.respond(createResponse(request, rc !== undefined ? 200 : 481));
      rc?.cancel();
      return;
    }
    // §16.2: a proxy answers an INVITE with 100 at once (the edge does the same).
    if (request.method === "INVITE") tx.respond(createResponse(request, 100));
    const plan = w.plan(request);
    w.beforeForward?.(tx);
    contexts.push(
      core.forward(tx, request, plan.targets, {
        ...plan.hooks,
        onUpstream: (res) => {
          upstream.push(res);
          plan.hooks?.onUpstream?.(res);
        },
      }),
    );
  });
  return w;
}

const statuses = (rs: readonly SipResponse[]) => rs.map((r) => r.status);

describe("one target", () => {
  it("relays 180 and 200 with our Via popped; the branch has our Via, Max-Forwards - 1, the target URI", async () => {
    const w = await world(1);
    const invite = w.call();
    await w.settle();
    const [uas] = w.uas;
    const got = uas!.invite();
    // §16.6: Request-URI is the target's, Max-Forwards one less, our Via on top with a loop-hash branch.
    expect(got.uri).toBe(uas!.target.uri);
    expect(got.maxForwards()).toBe(69);
    const vias = got.vias();
    expect(vias).toHaveLength(2);
    expect(vias[0]!.host).toBe(PROXY);
    expect(loopHashOf(vias[0]!.params.get("branch")!)).toBe(loopHash(invite));
    expect(vias[1]!.params.get("branch")).toBe(invite.topVia()!.params.get("branch"));
    // Nothing inserted when the target asks for no Record-Route.
    expect(got.headerLines("Record-Route")).toEqual(["<sip:upstream.example.test;lr>"]);

    uas!.reply(180);
    await w.settle();
    uas!.reply(200);
    await w.settle();
    expect(statuses(w.heard)).toEqual([100, 180, 200]);
    for (const r of w.heard.slice(1)) {
      expect(r.vias()).toHaveLength(1);
      expect(r.toTag()).toBe(uas!.toTag);
    }
    expect(statuses(w.upstream)).toEqual([180, 200]);
    expect(w.contexts[0]!.finished).toBe(true);
  });

  it.each([
    ["one Record-Route", ["<sip:tok@10.0.0.2:5060;lr>"]],
    ["two Record-Routes (RFC 5658)", ["<sip:tok@10.0.0.2:5060;transport=tcp;lr>", "<sip:tok@10.0.0.2;lr>"]],
  ])("inserts %s above the ones already there, with Path routes and extra headers", async (_n, rr) => {
    const w = await world(1);
    const uas = w.uas[0]!;
    w.plan = () => ({
      targets: [
        {
          ...uas.target,
          recordRoute: rr,
          routes: ["<sip:path1.example.test;lr>", "<sip:path2.example.test;lr>"],
          headers: [["Diversion", "<sip:carol@example.test>;reason=unconditional;counter=1"]],
        },
      ],
    });
    w.call();
    await w.settle();
    const got = uas.invite();
    expect(got.headerLines("Record-Route")).toEqual([...rr, "<sip:upstream.example.test;lr>"]);
    expect(got.headerLines("Route")).toEqual(["<sip:path1.example.test;lr>", "<sip:path2.example.test;lr>"]);
    expect(got.header("Diversion")).toBe("<sip:carol@example.test>;reason=unconditional;counter=1");
  });

  it("does not relay a 100 from downstream (§16.7 step 5): hop by hop", async () => {
    const w = await world(1);
    w.call();
    await w.settle();
    w.uas[0]!.reply(100);
    await w.settle();
    w.uas[0]!.reply(486);
    await w.settle();
    // The only 100 the caller sees is the proxy's own.
    const toCaller = w.packets.filter((p) => p.to === UAC && p.from === PROXY).map((p) => p.line);
    expect(toCaller).toEqual(["100", "486"]);
    expect(statuses(w.heard)).toEqual([100, 486]);
  });

  it("a non-INVITE: the 100 from downstream is not relayed, the final is", async () => {
    const w = await world(1);
    w.call("MESSAGE");
    await w.settle();
    const uas = w.uas[0]!;
    expect(uas.others[0]!.request.method).toBe("MESSAGE");
    expect(uas.others[0]!.request.maxForwards()).toBe(69);
    uas.replyOther(100);
    await w.settle();
    uas.replyOther(202);
    await w.settle();
    expect(statuses(w.heard)).toEqual([202]);
  });

  it("an empty target list is answered 480 at once", async () => {
    const w = await world(1);
    w.plan = () => ({ targets: [] });
    w.call();
    await w.settle();
    expect(w.finals()).toEqual([480]);
    expect(w.uas[0]!.invites).toHaveLength(0);
  });
});

describe("parallel forking (§16.7)", () => {
  it("a 200 goes up at once; the other branches get CANCEL after their 180, and their 487 is absorbed", async () => {
    const w = await world(3);
    w.call();
    await w.settle();
    const [a, b, c] = w.uas as [Uas, Uas, Uas];
    for (const u of w.uas) expect(u.invites).toHaveLength(1);
    a.reply(180);
    c.reply(180);
    await w.settle();
    b.reply(200);
    await w.settle();
    expect(b.cancels).toHaveLength(0);
    expect(a.cancels).toHaveLength(1);
    expect(c.cancels).toHaveLength(1);
    // §9.1: the CANCEL matches the branch's INVITE (same top Via branch, Request-URI).
    expect(a.cancels[0]!.topVia()!.params.get("branch")).toBe(a.invite().topVia()!.params.get("branch"));
    expect(a.cancels[0]!.uri).toBe(a.invite().uri);
    // The 487s were ACKed by the proxy's client transactions and never reach the caller.
    const acksFromProxy = w.packets.filter((p) => p.from === PROXY && p.line === "ACK").map((p) => p.to);
    expect(acksFromProxy.sort()).toEqual([a.address, c.address].sort());
    expect(statuses(w.heard)).toEqual([100, 180, 180, 200]);
    expect(w.finals()).toEqual([200]);
  });

  it("a branch without a provisional response is cancelled only once it sends one (§9.1)", async () => {
    const w = await world(2);
    w.call();
    await w.settle();
    const [a, b] = w.uas as [Uas, Uas];
    b.reply(200);
    await w.settle();
    expect(w.finals()).toEqual([200]);
    // a has said nothing: no CANCEL may be sent yet.
    expect(a.cancels).toHaveLength(0);
    expect(w.packets.filter((p) => p.line === "CANCEL")).toHaveLength(0);
    a.reply(180);
    await w.settle();
    expect(a.cancels).toHaveLength(1);
    // Its 180 came after the final response: not relayed.
    expect(statuses(w.heard)).toEqual([100, 200]);
  });

  it("every 2xx of a forked INVITE is relayed, not only the first (§16.7 step 5)", async () => {
    const w = await world(2);
    w.call();
    await w.settle();
    const [a, b] = w.uas as [Uas, Uas];
    a.reply(180);
    b.reply(180);
    await w.settle();
    // Both answer before either CANCEL can arrive.
    a.reply(200);
    b.reply(200);
    await w.settle();
    const twoHundreds = w.heard.filter((r) => r.status === 200);
    expect(twoHundreds.map((r) => r.toTag()).sort()).toEqual([a.toTag, b.toTag].sort());
  });

  it.each<[string, number[], number]>([
    ["486 and 404: the first received of the lowest class", [486, 404], 486],
    ["404 and 486", [404, 486], 404],
    ["503 and 404: 4xx is the lower class", [503, 404], 404],
    ["503 alone goes up as 500 (§16.7 step 6)", [503, 503], 500],
    ["302 and 486: the 3xx", [486, 302], 302],
  ])("all branches fail: %s", async (_name, codes, expected) => {
    const w = await world(2);
    w.call();
    await w.settle();
    for (const [i, code] of codes.entries()) {
      w.uas[i]!.reply(code);
      await w.settle();
    }
    expect(w.finals()).toEqual([expected]);
  });

  it("a 6xx cancels the pending branches, starts no new group, and wins (§16.7 step 5)", async () => {
    const w = await world(3);
    const [a, b, c] = w.uas as [Uas, Uas, Uas];
    w.plan = () => ({ targets: [a.target, b.target, { ...c.target, q: 0.5 }] });
    w.call();
    await w.settle();
    a.reply(180);
    await w.settle();
    b.reply(603);
    await w.settle();
    expect(a.cancels).toHaveLength(1);
    expect(c.invites).toHaveLength(0);
    expect(w.finals()).toEqual([603]);
  });

  it("the 407s of two branches go up as one 407 with both challenges (§16.7 step 7)", async () => {
    const w = await world(2);
    w.call();
    await w.settle();
    const [a, b] = w.uas as [Uas, Uas];
    a.reply(407, [["Proxy-Authenticate", 'Digest realm="a.test", nonce="na", algorithm=MD5']]);
    await w.settle();
    b.reply(407, [["Proxy-Authenticate", 'Digest realm="b.test", nonce="nb", algorithm=MD5']]);
    await w.settle();
    expect(w.finals()).toEqual([407]);
    const final = w.heard.at(-1)!;
    expect(final.headerLines("Proxy-Authenticate")).toEqual([
      'Digest realm="a.test", nonce="na", algorithm=MD5',
      'Digest realm="b.test", nonce="nb", algorithm=MD5',
    ]);
    expect(final.vias()).toHaveLength(1);
  });
});

describe("serial forking by q (§16.6)", () => {
  it("the next group starts only after every branch of the one before has failed", async () => {
    const w = await world(3);
    const [a, b, c] = w.uas as [Uas, Uas, Uas];
    w.plan = () => ({
      targets: [
        { ...b.target, q: 0.5 },
        { ...a.target, q: 0.9 },
        { ...c.target, q: 0.5 },
      ],
    });
    w.call();
    await w.settle();
    expect(a.invites).toHaveLength(1);
    expect(b.invites).toHaveLength(0);
    expect(c.invites).toHaveLength(0);
    a.reply(180);
    await w.settle();
    expect(b.invites).toHaveLength(0);
    a.reply(486);
    await w.settle();
    expect(b.invites).toHaveLength(1);
    expect(c.invites).toHaveLength(1);
    b.reply(180);
    c.reply(180);
    await w.settle();
    c.reply(200);
    await w.settle();
    expect(b.cancels).toHaveLength(1);
    expect(w.finals()).toEqual([200]);
  });

  it("when every group fails, the best of all the responses goes up", async () => {
    const w = await world(2);
    const [a, b] = w.uas as [Uas, Uas];
    w.plan = () => ({ targets: [a.target, { ...b.target, q: 0.1 }] });
    w.call();
    await w.settle();
    a.reply(404);
    await w.settle();
    b.reply(302);
    await w.settle();
    expect(w.finals()).toEqual([302]);
  });
});

describe("CANCEL (§16.10)", () => {
  it("a CANCEL from upstream cancels every pending branch; the caller gets one 487", async () => {
    const w = await world(2);
    const invite = w.call();
    await w.settle();
    const [a, b] = w.uas as [Uas, Uas];
    a.reply(180);
    b.reply(183);
    await w.settle();
    w.cancel(invite);
    await w.settle();
    expect(a.cancels).toHaveLength(1);
    expect(b.cancels).toHaveLength(1);
    expect(w.finals()).toEqual([487]);
    expect(w.packets.filter((p) => p.from === PROXY && p.to === UAC).map((p) => p.line)).toEqual([
      "100",
      "180",
      "183",
      "200", // the CANCEL's
      "487",
    ]);
  });

  it("a branch still silent when the caller cancels gets its CANCEL after its 180; no new group starts", async () => {
    const w = await world(2);
    const [a, b] = w.uas as [Uas, Uas];
    w.plan = () => ({ targets: [a.target, { ...b.target, q: 0.2 }] });
    const invite = w.call();
    await w.settle();
    w.cancel(invite);
    await w.settle();
    expect(a.cancels).toHaveLength(0);
    a.reply(180);
    await w.settle();
    expect(a.cancels).toHaveLength(1);
    expect(b.invites).toHaveLength(0);
    expect(w.finals()).toEqual([487]);
  });
});

describe("CANCEL (§16.10) with a callee that ignores it", () => {
  it("64*T1 after the CANCEL the INVITE counts as cancelled (§9.1): 487 upstream, the branch forgotten", async () => {
    const w = await world(1);
    const uas = w.uas[0]!;
    uas.ignoreCancel = true;
    const invite = w.call();
    await w.settle();
    uas.reply(180);
    await w.settle();
    w.cancel(invite);
    await w.settle();
    expect(uas.cancels.length).toBeGreaterThan(0);
    expect(w.finals()).toEqual([]);
    await w.advance(w.proxyLayer.timers.B - 1);
    expect(w.finals()).toEqual([]);
    await w.advance(1);
    expect(w.finals()).toEqual([487]);
    expect(w.proxyLayer.stats().client).toBe(0);
  });

  it("the same after Timer C cancelled the branch", async () => {
    const w = await world(1, { timerCMs: 181_000 });
    const uas = w.uas[0]!;
    uas.ignoreCancel = true;
    w.call();
    await w.settle();
    uas.reply(180);
    await w.settle();
    await w.advance(181_000);
    expect(uas.cancels.length).toBeGreaterThan(0);
    await w.advance(w.proxyLayer.timers.B);
    expect(w.finals()).toEqual([487]);
  });
});

describe("a request answered before its targets were known", () => {
  it("is not forwarded: a CANCEL that came first already ended it (§16.10)", async () => {
    const w = await world(1);
    // What the edge's CANCEL step does when no response context exists yet: 487 for the INVITE.
    w.beforeForward = (tx) => tx.respond(createResponse(tx.request, 487));
    w.call();
    await w.settle();
    expect(w.uas[0]!.invites).toHaveLength(0);
    expect(w.finals()).toEqual([487]);
  });
});

describe("Timer C (§16.8)", () => {
  it("fires on a branch that sent 180: the branch is cancelled and its 487 goes up", async () => {
    const w = await world(1, { timerCMs: 181_000 });
    w.call();
    await w.settle();
    const uas = w.uas[0]!;
    uas.reply(180);
    await w.settle();
    await w.advance(180_000);
    expect(uas.cancels).toHaveLength(0);
    await w.advance(1_000);
    expect(uas.cancels).toHaveLength(1);
    expect(w.finals()).toEqual([487]);
  });

  it("is reset by every provisional response other than 100", async () => {
    const w = await world(1, { timerCMs: 181_000 });
    w.call();
    await w.settle();
    const uas = w.uas[0]!;
    uas.reply(180);
    await w.settle();
    await w.advance(100_000);
    uas.reply(183);
    await w.settle();
    await w.advance(100_000);
    expect(uas.cancels).toHaveLength(0);
    await w.advance(81_000);
    expect(uas.cancels).toHaveLength(1);
  });

  it("fires on a branch that said nothing: it counts as a 408 and sends no more INVITEs", async () => {
    // Timer C below Timer B (32 s), so it is Timer C that ends the branch.
    const w = await world(1, { timerCMs: 10_000 });
    w.call();
    await w.settle();
    await w.advance(10_000);
    expect(w.finals()).toEqual([408]);
    expect(w.uas[0]!.cancels).toHaveLength(0);
    const invitesSoFar = w.packets.filter((p) => p.line === "INVITE" && p.from === PROXY).length;
    await w.advance(40_000);
    expect(w.packets.filter((p) => p.line === "INVITE" && p.from === PROXY)).toHaveLength(invitesSoFar);
  });
});

describe("forwarding hooks", () => {
  it("onFailure: busy forwarding tries new targets, and the caller never sees the 486", async () => {
    const w = await world(2);
    const [a, b] = w.uas as [Uas, Uas];
    const seen: number[] = [];
    w.plan = () => ({
      targets: [a.target],
      hooks: {
        onFailure: (best) => {
          seen.push(best.status);
          return seen.length === 1 ? [b.target] : undefined;
        },
      },
    });
    w.call();
    await w.settle();
    a.reply(486);
    await w.settle();
    expect(seen).toEqual([486]);
    expect(b.invites).toHaveLength(1);
    b.reply(180);
    await w.settle();
    b.reply(200);
    await w.settle();
    expect(statuses(w.heard)).toEqual([100, 180, 200]);
  });

  it("onFailure: when the new targets fail too, their answer goes up, not the first 486", async () => {
    const w = await world(2);
    const [a, b] = w.uas as [Uas, Uas];
    let calls = 0;
    w.plan = () => ({
      targets: [a.target],
      hooks: { onFailure: () => (++calls === 1 ? [b.target] : undefined) },
    });
    w.call();
    await w.settle();
    a.reply(486);
    await w.settle();
    b.reply(480);
    await w.settle();
    expect(calls).toBe(2);
    expect(w.finals()).toEqual([480]);
  });

  it("noAnswer: after afterMs the pending branches are cancelled and the new targets tried; the old 487 is ignored", async () => {
    const w = await world(2);
    const [a, b] = w.uas as [Uas, Uas];
    let asked = 0;
    w.plan = () => ({
      targets: [a.target],
      hooks: {
        noAnswer: {
          afterMs: 20_000,
          targets: () => {
            asked += 1;
            return [b.target];
          },
        },
      },
    });
    w.call();
    await w.settle();
    a.reply(180);
    await w.settle();
    await w.advance(19_999);
    expect(asked).toBe(0);
    await w.advance(1);
    expect(asked).toBe(1);
    expect(a.cancels).toHaveLength(1);
    expect(b.invites).toHaveLength(1);
    // a's 487 has come back already; the call goes on.
    expect(w.finals()).toEqual([]);
    b.reply(486);
    await w.settle();
    expect(w.finals()).toEqual([486]);
  });

  it("noAnswer: an answer before afterMs stops the timer", async () => {
    const w = await world(2);
    const [a, b] = w.uas as [Uas, Uas];
    let asked = 0;
    w.plan = () => ({
      targets: [a.target],
      hooks: {
        noAnswer: {
          afterMs: 20_000,
          targets: () => {
            asked += 1;
            return [b.target];
          },
        },
      },
    });
    w.call();
    await w.settle();
    a.reply(200);
    await w.settle();
    await w.advance(30_000);
    expect(asked).toBe(0);
    expect(b.invites).toHaveLength(0);
  });

  it("noAnswer: not for a non-INVITE", async () => {
    const w = await world(2);
    const [a, b] = w.uas as [Uas, Uas];
    w.plan = () => ({
      targets: [a.target],
      hooks: { noAnswer: { afterMs: 1_000, targets: () => [b.target] } },
    });
    w.call("MESSAGE");
    await w.settle();
    await w.advance(1_000);
    expect(b.others).toHaveLength(0);
  });
});

describe("transport errors (§16.9)", () => {
  it("a flow that is closed (RFC 5626) → 480", async () => {
    const w = await world(1);
    const closed: Flow = {
      protocol: "tcp",
      local: { address: PROXY, port: 5060 },
      remote: { address: uasAddress(0), port: 40000 },
      connectionId: "tcp-gone",
    };
    w.plan = () => ({ targets: [{ uri: "sip:bob@10.0.1.1:40000;transport=tcp", destination: closed }] });
    w.call();
    await w.settle();
    expect(w.finals()).toEqual([480]);
  });

  it("a dialog's flow that is closed → the target's flowFailedStatus (430, RFC 5626 §5.3)", async () => {
    const w = await world(1);
    const closed: Flow = {
      protocol: "tcp",
      local: { address: PROXY, port: 5060 },
      remote: { address: uasAddress(0), port: 40000 },
      connectionId: "tcp-gone",
    };
    w.plan = () => ({
      targets: [{ uri: "sip:bob@10.0.1.1:40000;transport=tcp", destination: closed, flowFailedStatus: 430 }],
    });
    w.call();
    await w.settle();
    expect(w.finals()).toEqual([430]);
  });

  it("a connection that cannot be opened → 480", async () => {
    const w = await world(1, { proxyTcp: true });
    w.plan = () => ({
      targets: [
        {
          uri: "sip:bob@10.0.9.9;transport=tcp",
          destination: { protocol: "tcp", address: "10.0.9.9", port: 5060 },
        },
      ],
    });
    w.call();
    await w.settle();
    expect(w.finals()).toEqual([480]);
  });

  it("no transport for the destination → 503, which goes up as 500; a working branch still wins", async () => {
    const w = await world(1);
    const uas = w.uas[0]!;
    const noTcp: ProxyTarget = {
      uri: "sip:bob@10.0.9.9;transport=tcp",
      destination: { protocol: "tcp", address: "10.0.9.9", port: 5060 },
    };
    w.plan = () => ({ targets: [noTcp] });
    w.call();
    await w.settle();
    expect(w.finals()).toEqual([500]);

    w.heard.length = 0;
    w.plan = () => ({ targets: [noTcp, uas.target] });
    w.call();
    await w.settle();
    uas.reply(486);
    await w.settle();
    expect(w.finals()).toEqual([486]);
  });
});

describe("forwardStateless (§16.11)", () => {
  function ack(topBranch: string): SipRequest {
    return parseMessage(
      sipMessage([
        "ACK sip:tok@10.0.0.2;lr SIP/2.0",
        `Via: SIP/2.0/UDP ${UAC}:5060;branch=${topBranch};rport`,
        "Max-Forwards: 70",
        "From: <sip:alice@example.test>;tag=caller1",
        "To: <sip:bob@example.test>;tag=uas0",
        "Call-ID: ack-1@10.0.0.1",
        "CSeq: 1 ACK",
        "Content-Length: 0",
      ]),
    ) as SipRequest;
  }

  it("adds our Via with a branch that is the same for a retransmission, and decrements Max-Forwards", async () => {
    const w = await world(1);
    const uas = w.uas[0]!;
    const first = ack("z9hG4bKack1");
    await w.core.forwardStateless(first, uas.destination, "sip:bob@10.0.1.1:5060");
    await w.core.forwardStateless(ack("z9hG4bKack1"), uas.destination, "sip:bob@10.0.1.1:5060");
    await w.core.forwardStateless(ack("z9hG4bKack2"), uas.destination, "sip:bob@10.0.1.1:5060");
    await w.settle();
    expect(uas.acks).toHaveLength(3);
    const [a1, a2, a3] = uas.acks as [SipRequest, SipRequest, SipRequest];
    expect(a1.uri).toBe("sip:bob@10.0.1.1:5060");
    expect(a1.maxForwards()).toBe(69);
    expect(a1.vias()).toHaveLength(2);
    expect(a1.topVia()!.host).toBe(PROXY);
    const branch = (r: SipRequest) => r.topVia()!.params.get("branch");
    expect(branch(a2)).toBe(branch(a1));
    expect(branch(a3)).not.toBe(branch(a1));
    expect(branch(a1)!.startsWith("z9hG4bK")).toBe(true);
    expect(loopHashOf(branch(a1)!)).toBeDefined();
  });
});

describe("contexts", () => {
  it("contextOf finds the response context of an INVITE server transaction", async () => {
    const w = await world(1);
    const invite = w.call();
    await w.settle();
    const tx = w.proxyLayer.findInviteForCancel(createCancel(invite)) as ServerInviteTransaction;
    const found = w.core.contextOf(tx);
    expect(found).toBe(w.contexts[0]);
    expect(found!.isInvite).toBe(true);
    expect(found!.branchCount).toBe(1);
    expect(found!.finished).toBe(false);
  });
});
