/**
 * `request.log` without a pino child per request. Most requests log nothing
 * but their request line, which the server writes through the daemon's logger
 * with the request id in it (src/http/server.ts); making a child for each one
 * (and the first line through each new child) cost more than the line itself.
 * The child, with the `reqId` binding, is made the first time a request logs
 * something at an enabled level, so such lines read exactly as before.
 */
import type { FastifyBaseLogger } from 'fastify';
import type { Bindings, ChildLoggerOptions, Level, LogFn, Logger } from 'pino';

const METHODS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const;
type Method = (typeof METHODS)[number];

class LazyChild {
  private made: Logger | undefined;

  constructor(
    /** The daemon's pino logger (fastify's loggerInstance). */
    private readonly parent: Logger,
    private readonly bindings: Bindings,
    private readonly options: ChildLoggerOptions,
  ) {}

  private get real(): Logger {
    return (this.made ??= this.parent.child(this.bindings, this.options));
  }

  get level(): string {
    return this.made?.level ?? this.options.level ?? this.parent.level;
  }

  set level(level: string) {
    this.real.level = level;
  }

  isLevelEnabled(level: Level): boolean {
    return (this.made ?? this.parent).isLevelEnabled(level);
  }

  child(bindings: Bindings, options?: ChildLoggerOptions): FastifyBaseLogger {
    return this.real.child(bindings, options);
  }

  /** Each level method (defined below): a level the daemon does not log costs no child. */
  log(method: Method, args: Parameters<LogFn>): void {
    if (this.made === undefined && this.options.level === undefined && !this.parent.isLevelEnabled(method)) return;
    (this.real[method] as (...a: unknown[]) => void)(...args);
  }

  silent(): void {}
}

interface LazyChild extends Record<Method, (...args: Parameters<LogFn>) => void> {}
for (const method of METHODS) {
  LazyChild.prototype[method] = function (this: LazyChild, ...args: Parameters<LogFn>) {
    this.log(method, args);
  };
}

/** fastify's `childLoggerFactory`. */
export function lazyChildLogger(logger: FastifyBaseLogger, bindings: Bindings, options: ChildLoggerOptions): FastifyBaseLogger {
  return new LazyChild(logger as Logger, bindings, options) as unknown as FastifyBaseLogger;
}
