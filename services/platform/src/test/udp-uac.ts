/**
 * A caller over UDP for the tests that only need the final answer to an INVITE (404, 480, 482…):
 * it answers the 407 with digest credentials (packages/sip's client), ACKs every final response
 * and returns the last one.
 */
import { createSocket, type Socket } from "node:dgram";
import { sipMessage } from "@sip-platform/fixtures/messages";
import {
  answerChallenge,
  newBranch,
  newCallId,
  newTag,
  parseChallenges,
  parseMessage,
  type SipResponse,
} from "@sip-platform/sip";

export interface InviteSpec {
  readonly port: number;
  readonly user: string;
  readonly password: string;
  readonly domain: string;
  /** Request-URI; `sip:<callee>@<domain>` by default. */
  readonly uri?: string;
  readonly callee: string;
  /** Header lines added to both INVITEs (e.g. a Via of ours for the loop test). */
  readonly extra?: readonly string[];
  readonly maxForwards?: number;
  readonly callId?: string;
  readonly fromTag?: string;
}

/** Sends the INVITE, answers a 407 once, returns the final response to the authenticated INVITE. */
export async function finalAnswerTo(spec: InviteSpec): Promise<SipResponse> {
  const socket = createSocket("udp4");
  await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
  try {
    const inbox = responses(socket);
    const uri = spec.uri ?? `sip:${spec.callee}@${spec.domain}`;
    const callId = spec.callId ?? newCallId();
    const fromTag = spec.fromTag ?? newTag();
    const local = socket.address().port;
    let cseq = 0;
    const send = (branch: string, extra: readonly string[]) => {
      cseq += 1;
      const text = sipMessage([
        `INVITE ${uri} SIP/2.0`,
        `Via: SIP/2.0/UDP 127.0.0.1:${local};branch=${branch};rport`,
        ...(spec.extra ?? []),
        `Max-Forwards: ${spec.maxForwards ?? 70}`,
        `From: <sip:${spec.user}@${spec.domain}>;tag=${fromTag}`,
        `To: <sip:${spec.callee}@${spec.domain}>`,
        `Call-ID: ${callId}`,
        `CSeq: ${cseq} INVITE`,
        `Contact: <sip:${spec.user}@127.0.0.1:${local}>`,
        ...extra,
        "Content-Length: 0",
      ]);
      socket.send(Buffer.from(text, "latin1"), spec.port, "127.0.0.1");
      return { branch, cseq };
    };
    const ack = (res: SipResponse, branch: string, n: number) => {
      const text = sipMessage([
        `ACK ${uri} SIP/2.0`,
        `Via: SIP/2.0/UDP 127.0.0.1:${local};branch=${branch};rport`,
        "Max-Forwards: 70",
        `From: <sip:${spec.user}@${spec.domain}>;tag=${fromTag}`,
        `To: ${res.header("To")}`,
        `Call-ID: ${callId}`,
        `CSeq: ${n} ACK`,
        "Content-Length: 0",
      ]);
      socket.send(Buffer.from(text, "latin1"), spec.port, "127.0.0.1");
    };
    const first = send(newBranch(), []);
    const challenge = await inbox.final();
    ack(challenge, first.branch, first.cseq);
    if (challenge.status !== 407) return challenge;
    const [c] = parseChallenges(challenge.header("Proxy-Authenticate") ?? "");
    const answer = answerChallenge(c!, {
      username: spec.user,
      password: spec.password,
      method: "INVITE",
      uri,
    });
    if (!answer.ok) throw new Error(`cannot answer the 407: ${answer.reason}`);
    const second = send(newBranch(), [`Proxy-Authorization: ${answer.value}`]);
    const final = await inbox.final();
    ack(final, second.branch, second.cseq);
    return final;
  } finally {
    socket.close();
  }
}

function responses(socket: Socket): { final(timeoutMs?: number): Promise<SipResponse> } {
  const queue: SipResponse[] = [];
  let wake: (() => void) | undefined;
  socket.on("message", (buf) => {
    try {
      const m = parseMessage(buf);
      if (!m.isRequest()) {
        queue.push(m as SipResponse);
        wake?.();
      }
    } catch {
      // not SIP: ignored
    }
  });
  return {
    async final(timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const i = queue.findIndex((r) => r.status >= 200);
        if (i >= 0) return queue.splice(i, 1)[0]!;
        const left = deadline - Date.now();
        if (left <= 0) throw new Error("no final response in time");
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, left);
          wake = () => {
            clearTimeout(t);
            resolve();
          };
        });
      }
    },
  };
}
