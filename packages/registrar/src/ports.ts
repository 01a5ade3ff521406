import type { DigestHash } from "@sip-platform/sip";

/** A subscriber's digest secrets: one HA1 per hash (RFC 7616 §3.4.2), never the password. */
export interface SubscriberCredentials {
  readonly subscriberId: string;
  readonly enabled: boolean;
  readonly ha1: Readonly<Partial<Record<DigestHash, string>>>;
}

/** Where credentials come from (the subscriber database, through a cache). */
export interface CredentialsSource {
  find(username: string, domain: string): Promise<SubscriberCredentials | undefined>;
}

/** Which domains this platform serves (those created through the admin API). */
export interface DomainDirectory {
  isLocal(domain: string): Promise<boolean>;
}
