/** Every error cfkit throws is a CfkitError with a stable `code`. */
export type ErrorCode =
  | 'E_INPUT'
  | 'E_FORMAT'
  | 'E_DISPOSED'
  | 'E_ABORTED'
  | 'E_NUMERIC'
  | 'E_DEVICE'
  | 'E_IO'
  | 'E_NATIVE_LOAD'
  | 'E_INTERNAL';

export class CfkitError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** Invalid arguments or data: wrong types, NaN, out-of-range ids, empty matrices. */
export class InputError extends CfkitError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('E_INPUT', message, options);
  }
}

/** A malformed data file or a corrupt / truncated model file. `line` is 1-based when known. */
export class FormatError extends CfkitError {
  readonly line?: number;
  readonly path?: string;
  constructor(message: string, details: { line?: number; path?: string; cause?: unknown } = {}) {
    super('E_FORMAT', message, { cause: details.cause });
    this.line = details.line;
    this.path = details.path;
  }
}

export class DisposedError extends CfkitError {
  constructor(what: string) {
    super('E_DISPOSED', `${what} was disposed and can no longer be used`);
  }
}

export class AbortError extends CfkitError {
  constructor(message = 'the operation was aborted', options?: { cause?: unknown }) {
    super('E_ABORTED', message, options);
  }
}

/** A numeric failure such as a matrix that is not positive definite, or running out of memory. */
export class NumericError extends CfkitError {
  constructor(message: string) {
    super('E_NUMERIC', message);
  }
}

export class DeviceError extends CfkitError {
  constructor(message: string) {
    super('E_DEVICE', message);
  }
}

export class IOError extends CfkitError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('E_IO', message, options);
  }
}

export class NativeLoadError extends CfkitError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('E_NATIVE_LOAD', message, options);
  }
}

const byCode: Record<string, (m: string) => CfkitError> = {
  E_INPUT: (m) => new InputError(m),
  E_FORMAT: (m) => new FormatError(m),
  E_DISPOSED: (m) => new CfkitError('E_DISPOSED', m),
  E_ABORTED: (m) => new AbortError(m),
  E_NUMERIC: (m) => new NumericError(m),
  E_DEVICE: (m) => new DeviceError(m),
  E_IO: (m) => new IOError(m),
};

/** Turns an error thrown by the addon ("E_CODE: message", with a `code` property) into its class. */
export function fromNative(err: unknown): Error {
  if (err instanceof CfkitError) return err;
  // Duck-typed: errors from the addon may come from another realm (worker, vm, jest), where
  // instanceof Error is false.
  if (typeof err === 'object' && err !== null && typeof (err as Error).message === 'string') {
    const code = (err as { code?: unknown }).code;
    const text = (err as Error).message;
    const match = /^(E_[A-Z_]+): ([\s\S]*)$/.exec(text);
    const c = typeof code === 'string' ? code : match?.[1];
    const message = match ? match[2] : text;
    if (c && byCode[c]) return byCode[c](message);
    return new CfkitError('E_INTERNAL', (err as Error).message, { cause: err });
  }
  return new CfkitError('E_INTERNAL', String(err));
}
