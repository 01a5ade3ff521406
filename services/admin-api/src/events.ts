/**
 * Publishing the events other services cache by. An event goes out after the database write has
 * committed; if the bus refuses it (closed while shutting down) the write still stands, so the
 * request still succeeds and the loss is logged: answering 503 would invite a retry that then
 * meets 409 or 404 for a change that did happen.
 */
import { type Bus, type EventSubject, events } from "@sip-platform/bus";
import type { FastifyBaseLogger } from "fastify";
import { loggableError } from "./errors.js";

export { events };

export type Events = <T>(subject: EventSubject<T>, payload: T, log: FastifyBaseLogger) => void;

export function createPublisher(bus: Pick<Bus, "publish">): Events {
  return (subject, payload, log) => {
    try {
      bus.publish(subject, payload);
    } catch (error) {
      log.error({ subject: subject.subject, error: loggableError(error) }, "event not published");
    }
  };
}
