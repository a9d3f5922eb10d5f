import { errors, types } from 'cassandra-driver';
import { describe, expect, it } from 'vitest';
import { tokenize } from './cql-lexer.js';

const kinds = (text: string): string[] => tokenize(text).map((t) => `${t.kind}:${t.value}`);

describe('tokenize', () => {
  it('lowercases words, keeps quoted identifiers exact, unescapes strings', () => {
    expect(kinds(`SELECT "MixedCase", Name FROM Ks.T WHERE a = 'it''s'`)).toEqual([
      'word:select',
      'quoted:MixedCase',
      'punct:,',
      'word:name',
      'word:from',
      'word:ks',
      'punct:.',
      'word:t',
      'word:where',
      'word:a',
      'punct:=',
      "string:it's",
      'eof:',
    ]);
  });

  it('reads numbers, negative numbers, floats, blobs, bind markers and two-character operators', () => {
    expect(kinds('-12 3.5 1e3 0xCAFE ? <= >= != < >')).toEqual([
      'integer:-12',
      'float:3.5',
      'float:1e3',
      'hex:cafe',
      'bind:?',
      'punct:<=',
      'punct:>=',
      'punct:!=',
      'punct:<',
      'punct:>',
      'eof:',
    ]);
  });

  it('skips -- and // line comments and /* */ block comments', () => {
    expect(kinds('a -- one\nb // two\n/* three\n */ c')).toEqual(['word:a', 'word:b', 'word:c', 'eof:']);
  });

  it('records each token position', () => {
    expect(tokenize('  ab  ?').map((t) => t.position)).toEqual([2, 6, 7]);
  });

  it.each([
    ["'open", /unterminated string/],
    ['"open', /unterminated quoted identifier/],
    ['/* open', /unterminated \/\* comment/],
    ['a # b', /token recognition error at: '#'/],
    ['0xABC', /invalid blob constant/],
    ['a = :name', /unsupported: named bind marker/],
    ['$$text$$', /unsupported: \$\$-quoted strings/],
  ])('refuses %s with a syntax error', (text, message) => {
    let caught: unknown;
    try {
      tokenize(text);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(errors.ResponseError);
    expect((caught as errors.ResponseError).code).toBe(types.responseErrorCodes.syntaxError);
    expect((caught as Error).message).toMatch(message);
  });
});
