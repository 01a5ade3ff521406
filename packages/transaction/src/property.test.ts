import { fc, test } from "@fast-check/vitest";
import { createResponse, type SipRequest, type SipResponse } from "@sip-platform/sip";
import { expect } from "vitest";
import type { ClientTransaction, ServerTransaction } from "./layer.js";
import {
  copy,
  harness,
  reply,
  request,
  settle,
  TCP_FLOW,
  TCP_TARGET,
  UDP_FLOW,
  UDP_TARGET,
} from "./test-support.js";

/*
 * Random interleavings of everything that can happen to the layer: new transactions both ways,
 * responses of any status from peers and from the TU, retransmissions, ACKs, CANCELs, failing
 * sends, time passing. Nothing may throw, a transaction is in the layer's maps exactly while it is
 * not terminated, and once every TU and peer has finished its business (servers answered, client
 * INVITEs in Proceeding given a final response, as Timer C or the peer would see to) and enough
 * time has passed, every transaction is gone and no timer is left.
 */

type Cmd =
  | {
      readonly op: "clientInvite" | "clientNonInvite" | "serverInvite" | "serverNonInvite";
      readonly tcp: boolean;
    }
  | { readonly op: "peerResponds"; readonly i: number; readonly status: number; readonly tag: number }
  | { readonly op: "peerRepeats" }
  | { readonly op: "tuResponds"; readonly i: number; readonly status: number }
  | { readonly op: "requestAgain" | "ackSameBranch" | "ackNewBranch" | "cancel"; readonly i: number }
  | { readonly op: "advance"; readonly ms: number }
  | { readonly op: "failSends"; readonly on: boolean }
  | { readonly op: "settle" };

const status = fc.oneof(
  fc.integer({ min: 100, max: 199 }),
  fc.integer({ min: 200, max: 299 }),
  fc.integer({ min: 300, max: 699 }),
);
const index = fc.nat({ max: 7 });

const cmd: fc.Arbitrary<Cmd> = fc.oneof(
  fc.record({
    op: fc.constantFrom("clientInvite", "clientNonInvite", "serverInvite", "serverNonInvite"),
    tcp: fc.boolean(),
  }),
  fc.record({ op: fc.constant("peerResponds"), i: index, status, tag: fc.nat({ max: 2 }) }),
  fc.record({ op: fc.constant("peerRepeats") }),
  fc.record({ op: fc.constant("tuResponds"), i: index, status }),
  fc.record({ op: fc.constantFrom("requestAgain", "ackSameBranch", "ackNewBranch", "cancel"), i: index }),
  fc.record({
    op: fc.constant("advance"),
    ms: fc.oneof(fc.integer({ min: 0, max: 1000 }), fc.integer({ min: 0, max: 40_000 })),
  }),
  fc.record({ op: fc.constant("failSends"), on: fc.boolean() }),
  fc.record({ op: fc.constant("settle") }),
) as fc.Arbitrary<Cmd>;

test.prop([fc.array(cmd, { maxLength: 60 })], { numRuns: 300 })(
  "random event sequences never throw and leave no transaction and no timer behind",
  async (cmds) => {
    const h = harness({ tryingDelay: 200 });
    const clients: ClientTransaction[] = [];
    const servers: ServerTransaction[] = [];
    const serverRequests: SipRequest[] = [];
    let lastPeerResponse: SipResponse | undefined;
    let failing = false;
    h.transport.failWith = () => (failing ? new Error("network down") : undefined);
    h.layer.onRequest((tx, req) => {
      servers.push(tx);
      serverRequests.push(req);
    });
    h.layer.onAck(() => {});
    h.layer.onStrayResponse(() => {});

    const live = () => [...clients, ...servers].filter((t) => !t.isTerminated).length;
    const checkIndex = () => {
      const s = h.layer.stats();
      expect(s.client + s.server).toBe(live());
    };

    for (const c of cmds) {
      switch (c.op) {
        case "clientInvite":
        case "clientNonInvite": {
          const req = request({ method: c.op === "clientInvite" ? "INVITE" : "OPTIONS" });
          clients.push(
            h.layer.sendRequest(req, c.tcp ? TCP_TARGET : UDP_TARGET, {
              onResponse: () => {},
              onTimeout: () => {},
              onTransportError: () => {},
            }),
          );
          break;
        }
        case "serverInvite":
        case "serverNonInvite":
          h.transport.inject(
            request({
              method: c.op === "serverInvite" ? "INVITE" : "MESSAGE",
              transport: c.tcp ? "TCP" : "UDP",
            }),
            c.tcp ? TCP_FLOW : UDP_FLOW,
          );
          break;
        case "peerResponds": {
          const tx = clients[c.i % Math.max(1, clients.length)];
          if (!tx) break;
          lastPeerResponse = reply(tx.request, c.status, { toTag: `peer${c.tag}` });
          h.transport.inject(lastPeerResponse, tx.flow ?? UDP_FLOW);
          break;
        }
        case "peerRepeats":
          if (lastPeerResponse) h.transport.inject(copy(lastPeerResponse));
          break;
        case "tuResponds": {
          const tx = servers[c.i % Math.max(1, servers.length)];
          if (!tx) break;
          tx.respond(createResponse(tx.request, c.status, { toTag: "uas" }));
          break;
        }
        case "requestAgain":
        case "ackSameBranch":
        case "ackNewBranch":
        case "cancel": {
          const n = c.i % Math.max(1, serverRequests.length);
          const req = serverRequests[n];
          const tx = servers[n];
          if (!req || !tx) break;
          const branch = req.topVia()!.params.get("branch")!;
          if (c.op === "requestAgain") h.transport.inject(copy(req), tx.flow);
          else if (c.op === "cancel") h.transport.inject(request({ method: "CANCEL", branch }), tx.flow);
          else {
            const toTag = "uas";
            const ack =
              c.op === "ackSameBranch"
                ? request({ method: "ACK", branch, toTag, seq: req.cseq().seq })
                : request({ method: "ACK", toTag, seq: req.cseq().seq });
            h.transport.inject(ack, tx.flow);
          }
          break;
        }
        case "advance":
          h.clock.advance(c.ms);
          break;
        case "failSends":
          failing = c.on;
          break;
        case "settle":
          await settle();
          break;
      }
      checkIndex();
    }

    // Everyone finishes their business.
    failing = false;
    await settle();
    for (const tx of servers) {
      if (!tx.isTerminated && (tx.state === "Trying" || tx.state === "Proceeding")) {
        tx.respond(createResponse(tx.request, 500, { toTag: "uas" }));
      }
    }
    for (const tx of clients) {
      if (!tx.isTerminated && tx.state === "Proceeding") {
        h.transport.inject(reply(tx.request, 487, { toTag: "peer0" }), tx.flow ?? UDP_FLOW);
      }
    }
    for (let i = 0; i < 10; i++) {
      h.clock.advance(40_000);
      await settle();
    }
    checkIndex();
    expect(h.layer.stats()).toEqual({ client: 0, server: 0, legacyIndex: 0 });
    expect(h.clock.pending).toBe(0);
    expect(h.errors).toEqual([]);
  },
);
