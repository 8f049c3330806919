// The logger interface the pure core accepts: pino's shape (object first, constant message), so a
// pino logger is passed straight in and tests pass a recording one.
export interface LogFn {
  (obj: object, msg: string): void;
  (msg: string): void;
}

export interface Logger {
  trace: LogFn;
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
  fatal: LogFn;
  child(bindings: Record<string, unknown>): Logger;
}
