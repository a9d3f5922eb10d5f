import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { envBool, envEnum, envInt, envString, loadEnvConfig, LOG_LEVELS } from './config.js';
import { ConfigError } from './errors.js';

const schema = z.object({
  PORT: envInt(8080, 0, 65535),
  DEV_LOGIN: envBool(false),
  NATS_URL: envString('nats://127.0.0.1:4222'),
  LOG_LEVEL: envEnum(LOG_LEVELS, 'info'),
});

function configError(env: NodeJS.ProcessEnv): ConfigError {
  try {
    loadEnvConfig(schema, env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected loadEnvConfig to throw');
}

describe('loadEnvConfig', () => {
  it('applies every default when nothing is set', () => {
    expect(loadEnvConfig(schema, {})).toEqual({
      PORT: 8080,
      DEV_LOGIN: false,
      NATS_URL: 'nats://127.0.0.1:4222',
      LOG_LEVEL: 'info',
    });
  });

  it('parses valid values', () => {
    expect(loadEnvConfig(schema, { PORT: '9000', DEV_LOGIN: 'true', NATS_URL: 'nats://nats:4222', LOG_LEVEL: 'debug' })).toEqual({
      PORT: 9000,
      DEV_LOGIN: true,
      NATS_URL: 'nats://nats:4222',
      LOG_LEVEL: 'debug',
    });
  });

  it('treats an empty variable as unset', () => {
    expect(loadEnvConfig(schema, { PORT: '', DEV_LOGIN: '', NATS_URL: '', LOG_LEVEL: '' })).toEqual(loadEnvConfig(schema, {}));
  });

  it('ignores variables the schema does not name', () => {
    expect(loadEnvConfig(schema, { UNRELATED: 'x', PORT: '1' })).toEqual({ ...loadEnvConfig(schema, {}), PORT: 1 });
  });

  it('names the variable, the reason and the value it got', () => {
    const err = configError({ PORT: 'abc' });
    expect(err.problems).toHaveLength(1);
    expect(err.problems[0]).toContain('PORT');
    expect(err.problems[0]).toContain('expected an integer from 0 to 65535');
    expect(err.problems[0]).toContain('"abc"');
    expect(err.message).toContain('PORT');
    expect(err.code).toBe('internal');
  });

  it('names every bad variable at once', () => {
    const err = configError({ PORT: '70000', DEV_LOGIN: 'maybe', LOG_LEVEL: 'loud', NATS_URL: 'fine' });
    expect(err.problems).toHaveLength(3);
    const byName = (name: string) => err.problems.find((p) => p.startsWith(`${name}:`));
    expect(byName('PORT')).toContain('expected an integer from 0 to 65535');
    expect(byName('DEV_LOGIN')).toContain('expected true or false');
    expect(byName('LOG_LEVEL')).toContain('"loud"');
    for (const name of ['PORT', 'DEV_LOGIN', 'LOG_LEVEL']) expect(err.message).toContain(name);
    expect(err.message).not.toContain('NATS_URL');
  });
});

describe('envInt', () => {
  const ints = z.object({ N: envInt(5, -10, 100) });
  const parse = (value: string | undefined) => loadEnvConfig(ints, { N: value }).N;

  it('accepts integers within the bounds, inclusive, with surrounding spaces', () => {
    expect(parse('-10')).toBe(-10);
    expect(parse('0')).toBe(0);
    expect(parse('100')).toBe(100);
    expect(parse(' 42 ')).toBe(42);
    expect(parse(undefined)).toBe(5);
  });

  it.each(['abc', '1.5', '1e3', '0x10', '101', '-11', '12abc', '9007199254740993'])('rejects %j', (value) => {
    expect(() => parse(value)).toThrow(ConfigError);
    expect(() => parse(value)).toThrow(/N: expected an integer from -10 to 100/);
  });
});

describe('envBool', () => {
  const bools = z.object({ B: envBool(true) });
  const parse = (value: string | undefined) => loadEnvConfig(bools, { B: value }).B;

  it.each(['1', 'true', 'TRUE', 'yes', 'on', ' True '])('reads %j as true', (value) => {
    expect(parse(value)).toBe(true);
  });

  it.each(['0', 'false', 'False', 'no', 'off'])('reads %j as false', (value) => {
    expect(parse(value)).toBe(false);
  });

  it('uses its default when unset', () => {
    expect(parse(undefined)).toBe(true);
    expect(loadEnvConfig(z.object({ B: envBool(false) }), {}).B).toBe(false);
  });

  it.each(['2', 'y', 'enabled'])('rejects %j', (value) => {
    expect(() => parse(value)).toThrow(/B: expected true or false/);
  });
});

describe('envString', () => {
  it('passes the value through as given, or the default', () => {
    const strings = z.object({ S: envString('dflt') });
    expect(loadEnvConfig(strings, { S: ' spaced ' }).S).toBe(' spaced ');
    expect(loadEnvConfig(strings, {}).S).toBe('dflt');
  });
});

describe('envEnum', () => {
  const enums = z.object({ MODE: envEnum(['a', 'b'] as const, 'b') });

  it('accepts a listed value, or the default', () => {
    expect(loadEnvConfig(enums, { MODE: 'a' }).MODE).toBe('a');
    expect(loadEnvConfig(enums, {}).MODE).toBe('b');
  });

  it('rejects an unlisted value, naming the variable', () => {
    expect(() => loadEnvConfig(enums, { MODE: 'c' })).toThrow(/MODE: .*"c"/);
  });
});
