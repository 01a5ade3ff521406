/** Test helpers other packages' end-to-end tests use: a phone reachable only over its TCP connection. */
export { type AnsweredCall, TcpPhone, type TcpPhoneOptions } from "./test/tcp-phone.js";
