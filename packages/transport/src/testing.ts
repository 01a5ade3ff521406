import { createSocket, type Socket as UdpSocket } from "node:dgram";
import { connect, type Socket } from "node:net";
import { networkInterfaces } from "node:os";

export { selfSignedCert } from "@sip-platform/fixtures/tls";

import { parseMessage, type SipRequest, type SipResponse } from "@sip-platform/sip";
import type { Inbound, SipTransport } from "./types.js";

let seq = 0;

export interface RequestSpec {
  readonly method?: string;
  readonly via: string;
  readonly body?: string;
  readonly callId?: string;
  readonly extra?: string;
}

/** A complete request as wire text; the body sets Content-Length. */
export function requestText(spec: RequestSpec): string {
  seq += 1;
  const method = spec.method ?? "OPTIONS";
  const body = spec.body ?? "";
  return (
    `${method} sip:bob@example.test SIP/2.0\r\n` +
    `Via: ${spec.via}\r\n` +
    "Max-Forwards: 70\r\n" +
    "From: <sip:alice@example.test>;tag=a1\r\n" +
    "To: <sip:bob@example.test>\r\n" +
    `Call-ID: ${spec.callId ?? `call-${seq}`}\r\n` +
    `CSeq: ${seq} ${method}\r\n` +
    (spec.extra ?? "") +
    `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n` +
    body
  );
}

export function request(spec: RequestSpec): SipRequest {
  const m = parseMessage(requestText(spec));
  if (!m.isRequest()) throw new Error("expected a request");
  return m;
}

export function asResponse(m: SipRequest | SipResponse): SipResponse {
  if (m.isRequest()) throw new Error(`expected a response, got ${m.method}`);
  return m;
}

/** Polls `check` until it returns something other than undefined/false; rejects after `ms`. */
export async function waitFor<T>(check: () => T | undefined | false, ms = 5000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error("waitFor: condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Collects every message a transport delivers. */
export function collect(transport: SipTransport): Inbound[] {
  const got: Inbound[] = [];
  transport.onMessage((inbound) => got.push(inbound));
  return got;
}

/** A raw TCP client that keeps everything it receives. */
export interface RawTcp {
  readonly socket: Socket;
  received(): string;
  readonly closed: Promise<void>;
}

export async function rawTcp(port: number, host = "127.0.0.1"): Promise<RawTcp> {
  const socket = connect({ port, host, noDelay: true });
  const chunks: Buffer[] = [];
  socket.on("data", (c: Buffer) => chunks.push(c));
  socket.on("error", () => {});
  const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", () => resolve());
    socket.once("error", reject);
  });
  return { socket, received: () => Buffer.concat(chunks).toString("latin1"), closed };
}

/** A raw UDP socket that keeps every datagram it receives. */
export interface RawUdp {
  readonly socket: UdpSocket;
  readonly port: number;
  readonly datagrams: Buffer[];
  send(text: string | Buffer, port: number, host?: string): Promise<void>;
  close(): Promise<void>;
}

export async function rawUdp(host = "127.0.0.1"): Promise<RawUdp> {
  const socket = createSocket(host.includes(":") ? "udp6" : "udp4");
  const datagrams: Buffer[] = [];
  socket.on("message", (m) => datagrams.push(m));
  await new Promise<void>((resolve) => socket.bind(0, host, () => resolve()));
  return {
    socket,
    port: socket.address().port,
    datagrams,
    send: (text, port, to = host) =>
      new Promise((resolve, reject) => socket.send(text, port, to, (err) => (err ? reject(err) : resolve()))),
    close: () => new Promise((resolve) => socket.close(() => resolve())),
  };
}

/** True when the loopback interface has ::1 (some containers run without IPv6). */
export function hasIpv6Loopback(): boolean {
  for (const addrs of Object.values(networkInterfaces()))
    for (const a of addrs ?? []) if (a.family === "IPv6" && a.address === "::1") return true;
  return false;
}
