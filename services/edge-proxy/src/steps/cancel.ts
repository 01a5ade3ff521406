import { createResponse, newTag, type SipRequest, type SipResponse } from "@sip-platform/sip";
import { CONTINUE, type RequestContext, reply, type SyncStep, type Verdict } from "../pipeline/types.js";

/** The part of a server INVITE transaction a CANCEL acts on. */
export interface CancellableInvite {
  readonly request: SipRequest;
  readonly state: string;
  /** The To tag of the final response already sent, if any. */
  readonly responseToTag: string | undefined;
  respond(response: SipResponse): void;
}

/** The transaction layer's §9.2 lookup (`TransactionLayer.findInviteForCancel`). */
export interface InviteFinder {
  findInviteForCancel(cancel: SipRequest): CancellableInvite | undefined;
}

/**
 * CANCEL, RFC 3261 §9.2 and §16.10: when `proxied` takes the INVITE (its response context cancels
 * the pending branches), 200 for the CANCEL and nothing more. Otherwise as a UAS does it:
 * matched to an INVITE server transaction → 200 for the CANCEL, and if that INVITE has no final
 * response yet (Proceeding) it gets 487 (Request Terminated); matched to nothing → 481. A CANCEL
 * is hop by hop, so it ends here whatever its Request-URI or Max-Forwards.
 */
export function cancel(finder: InviteFinder, proxied?: (invite: CancellableInvite) => boolean): SyncStep {
  return (ctx: RequestContext): Verdict => {
    if (ctx.request.method !== "CANCEL") return CONTINUE;
    const invite = finder.findInviteForCancel(ctx.request);
    if (invite === undefined) return reply(481, "Call/Transaction Does Not Exist");
    // §16.10: a proxied INVITE: its branches are cancelled and the 487 comes from downstream.
    if (invite.state === "Proceeding" && proxied?.(invite) === true) return reply(200, "OK");
    // §9.2: the To tag of the 200 to the CANCEL SHOULD be the one of the response to the INVITE.
    let toTag = invite.responseToTag;
    if (invite.state === "Proceeding") {
      toTag = newTag();
      invite.respond(createResponse(invite.request, 487, { toTag }));
    }
    return { kind: "reply", status: 200, reason: "OK", ...(toTag !== undefined ? { toTag } : {}) };
  };
}
