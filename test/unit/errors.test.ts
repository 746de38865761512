import { AbortError, CfkitError, FormatError, fromNative, InputError, NumericError } from '../../lib';

describe('error mapping', () => {
  test('native "E_CODE: message" errors become their typed classes', () => {
    const e = fromNative(Object.assign(new Error('E_NUMERIC: not positive definite'), { code: 'E_NUMERIC' }));
    expect(e).toBeInstanceOf(NumericError);
    expect((e as CfkitError).code).toBe('E_NUMERIC');
    expect(e.message).toBe('not positive definite');
    expect(fromNative(new Error('E_ABORTED: stop'))).toBeInstanceOf(AbortError);
    expect(fromNative(new Error('E_INPUT: bad'))).toBeInstanceOf(InputError);
    expect(fromNative(new Error('E_FORMAT: bad'))).toBeInstanceOf(FormatError);
  });

  test('errors from another realm and non-errors are still mapped', () => {
    const foreign = { message: 'E_ABORTED: from a worker' };
    expect(fromNative(foreign)).toBeInstanceOf(AbortError);
    const odd = fromNative('boom') as CfkitError;
    expect(odd.code).toBe('E_INTERNAL');
    const plain = fromNative(new Error('something else')) as CfkitError;
    expect(plain.code).toBe('E_INTERNAL');
    expect(plain.message).toBe('something else');
  });
});
