/** Call records: the writer that turns the edges' call events into one record per call. */
export {
  CALL_RECORDS_DURABLE,
  type CallRecordWriterOptions,
  type KeptCallRecordWriterOptions,
  keepCallRecordWriter,
  PRUNE_INTERVAL_MS,
  type RunningCallRecordWriter,
  startCallRecordWriter,
} from "./writer.js";
