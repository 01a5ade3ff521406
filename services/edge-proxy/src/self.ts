import { networkInterfaces } from "node:os";
import { canonicalIp } from "@sip-platform/config";
import { bareHost } from "@sip-platform/sip";
import type { Listener } from "@sip-platform/transport";
import type { SelfCheck } from "./steps/options.js";

/**
 * The names and addresses a Request-URI may use to mean this element (RFC 3261 §16.4 "a value
 * this proxy is responsible for"): the advertised host, every listener's address, and for a
 * wildcard listener (0.0.0.0, ::) every address of the machine's interfaces of that family. A
 * port, when the URI has one, must be one of the listeners' ports.
 */
export class SelfAddresses implements SelfCheck {
  readonly #hosts = new Set<string>();
  readonly #ports = new Set<number>();

  constructor(
    advertisedHost: string,
    listeners: readonly Listener[],
    interfaceAddresses: () => string[] = localInterfaceAddresses,
  ) {
    this.#add(advertisedHost);
    let wild4 = false;
    let wild6 = false;
    for (const l of listeners) {
      this.#ports.add(l.local.port);
      const ip = canonicalIp(l.local.address);
      if (ip?.address === "0.0.0.0") wild4 = true;
      else if (ip?.address === "::") {
        // A dual-stack socket takes both families.
        wild4 = true;
        wild6 = true;
      } else this.#add(l.local.address);
    }
    if (wild4 || wild6) {
      for (const a of interfaceAddresses()) {
        const family = canonicalIp(a)?.family;
        if ((family === 4 && wild4) || (family === 6 && wild6)) this.#add(a);
      }
    }
  }

  isSelf(host: string, port: number | undefined): boolean {
    if (port !== undefined && !this.#ports.has(port)) return false;
    return this.#hosts.has(normalizeHost(host));
  }

  /** The hosts, normalised (for logs and tests). */
  hosts(): string[] {
    return [...this.#hosts];
  }

  #add(host: string): void {
    this.#hosts.add(normalizeHost(host));
  }
}

/** IP literals in canonical form (IPv6 without brackets), names lower-cased without a root dot. */
function normalizeHost(host: string): string {
  const bare = bareHost(host);
  const ip = canonicalIp(bare);
  if (ip !== undefined) return ip.address;
  const h = bare.toLowerCase();
  return h.endsWith(".") ? h.slice(0, -1) : h;
}

function localInterfaceAddresses(): string[] {
  const out: string[] = [];
  for (const list of Object.values(networkInterfaces())) {
    for (const i of list ?? []) out.push(i.address.split("%")[0]!);
  }
  return out;
}
