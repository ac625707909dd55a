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

type Method = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';

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

  private log(method: Method, args: Parameters<LogFn>): void {
    // A level the daemon does not log costs no child.
    if (this.made === undefined && this.options.level === undefined && !this.parent.isLevelEnabled(method)) return;
    (this.real[method] as (...a: unknown[]) => void)(...args);
  }

  fatal(...args: Parameters<LogFn>): void {
    this.log('fatal', args);
  }
  error(...args: Parameters<LogFn>): void {
    this.log('error', args);
  }
  warn(...args: Parameters<LogFn>): void {
    this.log('warn', args);
  }
  info(...args: Parameters<LogFn>): void {
    this.log('info', args);
  }
  debug(...args: Parameters<LogFn>): void {
    this.log('debug', args);
  }
  trace(...args: Parameters<LogFn>): void {
    this.log('trace', args);
  }
  silent(): void {}
}

/** fastify's `childLoggerFactory`. */
export function lazyChildLogger(logger: FastifyBaseLogger, bindings: Bindings, options: ChildLoggerOptions): FastifyBaseLogger {
  return new LazyChild(logger as Logger, bindings, options) as unknown as FastifyBaseLogger;
}
