/** The two functions of the `sip` npm package (0.0.6, CommonJS, untyped) that the benchmark calls. */
declare module "sip" {
  interface SipJs {
    /** Parses one message (a string, or a Buffer it decodes as "binary"); undefined when it cannot. */
    parse(message: string | Buffer): unknown;
    stringify(message: unknown): string;
  }
  const sip: SipJs;
  export = sip;
}
