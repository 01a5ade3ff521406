import { readFileSync } from "node:fs";
import { networkInterfaces } from "node:os";
import {
  CLUSTER_SECRET,
  type Config,
  ConfigError,
  canonicalIp,
  DIGEST_ALGORITHMS,
  LOG_LEVEL,
  NATS_SUBJECT_PREFIX,
  NATS_URL,
  parseConfig,
  REDIRECT_PORT,
  required,
  SIP_ADVERTISED_HOST,
  SIP_LISTEN,
  SIP_PORT,
  SIP_TLS_CERT,
  SIP_TLS_KEY,
  SIP_TLS_PORT,
  SIP_WS_PORT,
  SIP_WSS_PORT,
  TLS_FILES_TOGETHER,
} from "@sip-platform/config";
import type { ListenerOptions } from "@sip-platform/transport";

/**
 * The edge on its own needs the bus: without a registrar to ask, it can register nobody, so
 * NATS_URL is required here (the one-process mode passes an in-process bus to `startEdgeProxy`).
 */
export const EDGE_SCHEMA = Object.freeze({
  SIP_LISTEN,
  SIP_PORT,
  SIP_TLS_PORT,
  SIP_TLS_CERT,
  SIP_TLS_KEY,
  SIP_WS_PORT,
  SIP_WSS_PORT,
  SIP_ADVERTISED_HOST,
  REDIRECT_PORT,
  NATS_URL: required(NATS_URL),
  NATS_SUBJECT_PREFIX,
  /** Record-Route tokens and 407 nonces must verify on every edge, so the key is shared. */
  CLUSTER_SECRET: required(CLUSTER_SECRET),
  DIGEST_ALGORITHMS,
  LOG_LEVEL,
});

export type EdgeConfig = Config<typeof EDGE_SCHEMA>;

/** Parses the environment once; throws `ConfigError` naming every bad variable. */
export function loadEdgeConfig(env: Readonly<Record<string, string | undefined>>): EdgeConfig {
  return parseConfig(EDGE_SCHEMA, env, { rules: [TLS_FILES_TOGETHER] });
}

/**
 * The contract's listeners: UDP and TCP on SIP_PORT, WS on SIP_WS_PORT, and with a certificate
 * TLS on SIP_TLS_PORT and WSS on SIP_WSS_PORT. A certificate or key file that cannot be read is a
 * `ConfigError` naming the variable.
 */
export function listenersOf(
  c: EdgeConfig,
  readFile: (path: string) => Buffer = (p) => readFileSync(p),
): ListenerOptions[] {
  const address = c.SIP_LISTEN;
  const listeners: ListenerOptions[] = [
    { protocol: "udp", address, port: c.SIP_PORT },
    { protocol: "tcp", address, port: c.SIP_PORT },
    { protocol: "ws", address, port: c.SIP_WS_PORT },
  ];
  if (c.SIP_TLS_CERT !== undefined && c.SIP_TLS_KEY !== undefined) {
    const tls = {
      cert: readTlsFile("SIP_TLS_CERT", c.SIP_TLS_CERT, readFile),
      key: readTlsFile("SIP_TLS_KEY", c.SIP_TLS_KEY, readFile),
    };
    listeners.push({ protocol: "tls", address, port: c.SIP_TLS_PORT, tls });
    listeners.push({ protocol: "wss", address, port: c.SIP_WSS_PORT, tls });
  }
  return listeners;
}

function readTlsFile(variable: string, path: string, readFile: (path: string) => Buffer): Buffer {
  try {
    return readFile(path);
  } catch (err) {
    throw new ConfigError([
      {
        variable,
        problem: `cannot read ${path} (${err instanceof Error ? err.message : String(err)})`,
        expected: "a readable PEM file",
      },
    ]);
  }
}

/** The redirect server's listeners (RFC 3261 §8.3): UDP and TCP on REDIRECT_PORT. */
export function redirectListenersOf(c: EdgeConfig): ListenerOptions[] {
  return [
    { protocol: "udp", address: c.SIP_LISTEN, port: c.REDIRECT_PORT },
    { protocol: "tcp", address: c.SIP_LISTEN, port: c.REDIRECT_PORT },
  ];
}

/**
 * SIP_ADVERTISED_HOST, else the listen address (the contract's default); a wildcard listen address
 * says nothing to a peer, so then the machine's first non-internal IPv4 address (127.0.0.1 when it
 * has none).
 */
export function advertisedHostOf(
  c: EdgeConfig,
  interfaces: () => ReturnType<typeof networkInterfaces> = networkInterfaces,
): string {
  if (c.SIP_ADVERTISED_HOST !== undefined) return c.SIP_ADVERTISED_HOST;
  const listen = canonicalIp(c.SIP_LISTEN)?.address;
  if (listen !== "0.0.0.0" && listen !== "::") return c.SIP_LISTEN;
  for (const list of Object.values(interfaces())) {
    for (const i of list ?? []) if (i.family === "IPv4" && !i.internal) return i.address;
  }
  return "127.0.0.1";
}
