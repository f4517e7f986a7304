// Types of the zfleet Node.js client (index.js). The wire contract is
// ZFP/1 (docs/protocol.md); README.md has the prose.

/** A msgpack value as this client encodes and decodes it. bigint: integers
 *  past 2^53 (up to -2^63 .. 2^64-1); Uint8Array: bin (Buffer works too). */
export type Value =
  | null | boolean | number | bigint | string | Uint8Array
  | Value[] | { [key: string]: Value };

export const DEFAULT_FRONTEND: "tcp://127.0.0.1:5555";
export const DEFAULT_RESULTS: "tcp://127.0.0.1:5558";

export interface ClientOptions {
  /** The broker's frontend endpoint (submit). */
  frontend?: string;
  /** The broker's results endpoint (get, cancel, status). */
  results?: string;
  /** CURVE: path of this client's .key file (`zfleet keygen`); needs serverKey. */
  key?: string;
  /** CURVE: path of the broker's .pub file; needs key. */
  serverKey?: string;
  /** CURVE with keys in memory (Z85 strings) instead of key files. */
  curve?: { publicKey: string; secretKey: string; serverKey: string };
  /** How long to wait for a reply, on top of any waitMs asked for. Default 10000. */
  replyTimeoutMs?: number;
  /** Requests outstanding per connection (keep under broker.client_hwm). Default 10000. */
  maxInFlight?: number;
}

/** The submit fields of ZFP/1, camelCase (the snake_case wire names work too). */
export interface SubmitOptions {
  args?: Value[];
  kwargs?: { [key: string]: Value };
  func?: string;
  /** The pool: "io" (default), "cpu" or one of workers.pools. */
  type?: string;
  /** Client-chosen task id, 1..128 bytes; refused with DuplicateId if known. */
  id?: string;
  /** The task's run time limit. */
  timeoutMs?: number;
  maxRetries?: number;
  delayMs?: number;
  retries?: number;
  retryOn?: string[];
  retryBackoffMs?: number;
  /** Return what the task printed (print, stderr, logging) as `output`. */
  output?: boolean;
}

export interface BatchTask extends SubmitOptions {
  script: string;
}

export interface WaitOptions {
  /** How long the broker may hold the reply until the task finishes. Default 0; Infinity allowed. */
  waitMs?: number;
}

export type TaskState = "pending" | "running" | "done" | "failed" | "unknown";

/** One task's result, whatever its state. */
export interface ResultRecord {
  id: string;
  state: TaskState;
  /** state is done or failed. */
  finished: boolean;
  /** The return value (state done). */
  value?: Value;
  /** The error (state failed); not thrown by result()/getMany(). */
  error?: TaskFailed;
  worker?: string;
  attempts?: number;
  queuedUs?: number;
  runUs?: number;
  /** Delayed tasks and tasks waiting for a retry: ms until runnable. */
  runAfterMs?: number;
  /** What the task printed, when asked for (submit `output: true`) or captured by its pool. */
  output?: string;
  /** The reply map as the broker sent it. */
  raw: { [key: string]: Value };
}

export interface MapOptions extends Omit<SubmitOptions, "args" | "id"> {
  /** Yield in input order instead of completion order. Default false. */
  ordered?: boolean;
  /** Tasks per submit_batch and ids per get_many (<= broker.max_batch). Default 500. */
  batchSize?: number;
  /** Tasks submitted and not yet yielded. Default 2000. */
  window?: number;
  /** The wait of each get_many long-poll. Default 200. */
  pollMs?: number;
  /** Yield a failed or refused task's error instead of throwing it. Default false. */
  returnExceptions?: boolean;
  /** Yield {index, value} instead of the value. Default false. */
  withIndex?: boolean;
  /** Task i gets the id idPrefix + i. Default: ids the broker makes. */
  idPrefix?: string;
  /** Cancel the tasks still running if the loop ends early. Default false. */
  cancelOnExit?: boolean;
}

export type ArgsSource = Iterable<Value[]> | AsyncIterable<Value[]>;

export class Client {
  constructor(opts?: ClientOptions);
  readonly endpoints: { frontend: string; results: string };
  readonly closed: boolean;
  submit(script: string, opts?: SubmitOptions): Promise<string>;
  submitBatch(tasks: Iterable<BatchTask>, opts?: { returnExceptions?: false }): Promise<string[]>;
  submitBatch(tasks: Iterable<BatchTask>, opts: { returnExceptions: true }): Promise<Array<string | RequestError>>;
  get(id: string, opts?: WaitOptions): Promise<Value>;
  result(id: string, opts?: WaitOptions): Promise<ResultRecord>;
  getMany(ids: Iterable<string>, opts?: WaitOptions): Promise<ResultRecord[]>;
  cancel(id: string): Promise<"cancelled" | "cancelling" | "too_late" | "unknown">;
  status(): Promise<{ [key: string]: any }>;
  clearCache(script?: string): Promise<void>;
  map(script: string, args: ArgsSource, opts: MapOptions & { withIndex: true; returnExceptions: true }):
    AsyncGenerator<{ index: number; value: Value | ZfleetError }, void, undefined>;
  map(script: string, args: ArgsSource, opts: MapOptions & { withIndex: true }):
    AsyncGenerator<{ index: number; value: Value }, void, undefined>;
  map(script: string, args: ArgsSource, opts: MapOptions & { returnExceptions: true }):
    AsyncGenerator<Value | ZfleetError, void, undefined>;
  map(script: string, args: ArgsSource, opts?: MapOptions): AsyncGenerator<Value, void, undefined>;
  close(): void;
}

// --- errors ---------------------------------------------------------------

export class ZfleetError extends Error {
  constructor(code: string | null, message: string, fields?: object);
  /** The protocol's error code, or null for the client's own errors. */
  code: string | null;
  /** The task's id, where there is one. */
  taskId?: string;
  /** map(): the position of the task in the input. */
  index?: number;
}

export class RequestError extends ZfleetError { code: string | null }
export class BadRequest extends RequestError {}
export class TooLarge extends RequestError {}
export class DuplicateId extends RequestError {}
export class QueueFull extends RequestError {}
export class ShuttingDown extends RequestError {}

export class TaskFailed extends ZfleetError {
  /** The Python exception's class name (code "exception"). */
  type?: string;
  /** The Python traceback (code "exception"). */
  traceback?: string;
  attempts?: number;
  worker?: string;
}
export class ScriptNotFound extends TaskFailed {}
export class ScriptNotAllowed extends TaskFailed {}
export class ScriptError extends TaskFailed {}
export class FuncNotFound extends TaskFailed {}
export class TaskException extends TaskFailed {}
export class UnserializableResult extends TaskFailed {}
export class TaskTimeout extends TaskFailed {}
export class TaskCancelled extends TaskFailed {}
export class WorkerLost extends TaskFailed {}

export class BatchError extends ZfleetError {
  constructor(ids: Array<string | null>, errors: Array<RequestError | null>);
  ids: Array<string | null>;
  errors: Array<RequestError | null>;
  outcomes: Array<string | RequestError>;
}
export class TaskPending extends ZfleetError {
  constructor(taskId: string, state: "pending" | "running", runAfterMs?: number);
  state: "pending" | "running";
  runAfterMs?: number;
}
export class TaskUnknown extends ZfleetError {
  constructor(taskId: string);
}
export class Timeout extends ZfleetError {
  endpoint?: string;
  op?: string;
  timeoutMs?: number;
}
export class HandshakeFailed extends Timeout {}
export class AuthenticationFailed extends HandshakeFailed {
  /** The ZAP status code (e.g. 400). */
  status?: number;
}
export class ClientClosed extends ZfleetError {}
export class ProtocolError extends ZfleetError {
  reply?: unknown;
}

export const requestErrors: Readonly<Record<string, typeof RequestError>>;
export const taskErrors: Readonly<Record<string, typeof TaskFailed>>;
export function requestError(map: { code?: string; message?: string; id?: string }): RequestError;
export function taskFailed(result: {
  id?: string; attempts?: number; worker?: string;
  error?: { code?: string; message?: string; type?: string; traceback?: string };
}): TaskFailed;

// --- codec and keys ---------------------------------------------------------

export const codec: {
  encode(value: unknown): Uint8Array;
  decode(bytes: Uint8Array): Value;
};
export function readKeyPair(file: string): { publicKey: string; secretKey: string };
export function readPublicKey(file: string): string;
