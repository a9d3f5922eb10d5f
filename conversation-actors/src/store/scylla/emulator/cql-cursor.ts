import type { Literal, Operator, QualifiedName, Relation, Term } from './cql-ast.js';
import { syntaxError, unsupported } from './cql-errors.js';
import { type Token, tokenize } from './cql-lexer.js';

/**
 * Cassandra's reserved keywords: never an identifier unless double-quoted
 * (a schema naming a column `token` or `limit` would be refused by a real
 * node, so it is refused here too).
 */
const RESERVED = new Set(
  (
    'add allow alter and apply asc authorize batch begin by columnfamily create delete desc describe drop entries execute from full grant ' +
    'if in index infinity insert into keyspace limit modify nan norecursive not null of on or order primary rename replace revoke schema ' +
    'select set table to token truncate unlogged update use using view where with'
  ).split(' '),
);

const LITERAL_WORDS: ReadonlySet<string> = new Set(['true', 'false', 'null', 'nan', 'infinity']);
const OPERATORS: ReadonlySet<string> = new Set(['=', '!=', '<', '<=', '>', '>=']);

/**
 * A position in the token stream of one statement, with the primitives the
 * statement parsers share: keywords, identifiers, qualified names, terms
 * (bind markers numbered in order of appearance), literals and relations.
 * Every failure is the driver's ResponseError (syntaxError).
 */
export class Cursor {
  private readonly tokens: Token[];
  private index = 0;
  /** Bind markers seen so far: the next `?` gets this index. */
  markers = 0;

  constructor(text: string) {
    this.tokens = tokenize(text);
  }

  peek(ahead = 0): Token {
    return this.tokens[Math.min(this.index + ahead, this.tokens.length - 1)] as Token;
  }

  next(): Token {
    const token = this.peek();
    if (token.kind !== 'eof') this.index++;
    return token;
  }

  /** Whether the next token is the keyword `word` (case-insensitive). */
  isKeyword(word: string, ahead = 0): boolean {
    const token = this.peek(ahead);
    return token.kind === 'word' && token.value === word;
  }

  acceptKeyword(word: string): boolean {
    if (!this.isKeyword(word)) return false;
    this.index++;
    return true;
  }

  expectKeyword(...words: string[]): void {
    for (const word of words) {
      if (!this.acceptKeyword(word)) this.fail(`expecting ${word.toUpperCase()}`);
    }
  }

  isPunct(symbol: string): boolean {
    const token = this.peek();
    return token.kind === 'punct' && token.value === symbol;
  }

  acceptPunct(symbol: string): boolean {
    if (!this.isPunct(symbol)) return false;
    this.index++;
    return true;
  }

  expectPunct(symbol: string): void {
    if (!this.acceptPunct(symbol)) this.fail(`expecting '${symbol}'`);
  }

  /** An identifier: a non-reserved word (lowercased) or a "quoted" name (exact). */
  identifier(): string {
    const token = this.peek();
    if (token.kind === 'quoted') {
      this.index++;
      return token.value;
    }
    if (token.kind !== 'word') this.fail('expecting an identifier');
    if (RESERVED.has(token.value)) this.fail(`reserved keyword ${token.text} used as an identifier (double-quote it)`);
    this.index++;
    return token.value;
  }

  /** `name` or `keyspace.name`. */
  qualifiedName(): QualifiedName {
    const first = this.identifier();
    if (!this.acceptPunct('.')) return { name: first };
    return { keyspace: first, name: this.identifier() };
  }

  /** A bind marker or a literal. Collection literals, functions and arithmetic are not modelled. */
  term(): Term {
    const token = this.peek();
    if (token.kind === 'bind') {
      this.index++;
      return { kind: 'bind', index: this.markers++ };
    }
    if (token.kind === 'punct' && (token.value === '{' || token.value === '[')) throw unsupported(`collection literal at position ${token.position}`);
    if (token.kind === 'word' && this.peek(1).kind === 'punct' && this.peek(1).value === '(') throw unsupported(`function call ${token.text}(...)`);
    if (token.kind === 'word' && !LITERAL_WORDS.has(token.value)) throw unsupported(`column reference or arithmetic in a value: ${token.text}`);
    return { kind: 'literal', literal: this.literal() };
  }

  /** A constant: 'string', integer, float, 0xhex, true, false or null. */
  literal(): Literal {
    const token = this.peek();
    const take = <T>(value: T): T => {
      this.index++;
      return value;
    };
    if (token.kind === 'string') return take({ kind: 'string', value: token.value });
    if (token.kind === 'integer') return take({ kind: 'integer', value: token.value });
    if (token.kind === 'float') return take({ kind: 'float', value: token.value });
    if (token.kind === 'hex') return take({ kind: 'hex', value: token.value });
    if (token.kind === 'word' && (token.value === 'true' || token.value === 'false')) return take({ kind: 'boolean', value: token.value === 'true' });
    if (token.kind === 'word' && token.value === 'null') return take({ kind: 'null' });
    if (token.kind === 'word' && (token.value === 'nan' || token.value === 'infinity')) throw unsupported(`constant ${token.text}`);
    return this.fail('expecting a value');
  }

  /** `column op term`. IN, CONTAINS, LIKE, IS NOT NULL, token() and tuples are not modelled. */
  relation(): Relation {
    const token = this.peek();
    if (token.kind === 'punct' && token.value === '(') throw unsupported(`multi-column relation at position ${token.position}`);
    if (this.isKeyword('token')) throw unsupported('token() restrictions');
    const column = this.identifier();
    const op = this.peek();
    if (op.kind === 'word' && ['in', 'contains', 'like', 'is'].includes(op.value)) throw unsupported(`${op.text.toUpperCase()} relation on ${column}`);
    if (op.kind !== 'punct' || !OPERATORS.has(op.value)) this.fail('expecting a comparison operator');
    this.index++;
    return { column, op: op.value as Operator, term: this.term() };
  }

  /** `relation (AND relation)*`. */
  relations(): Relation[] {
    const out = [this.relation()];
    while (this.acceptKeyword('and')) out.push(this.relation());
    return out;
  }

  /** An optional `;`, then the end of the text. */
  end(): void {
    this.acceptPunct(';');
    if (this.peek().kind !== 'eof') this.fail('extraneous input');
  }

  /** Throws a syntax error at the current token. */
  fail(message: string): never {
    const token = this.peek();
    throw syntaxError(`${message} at input '${token.kind === 'eof' ? '<EOF>' : token.text}'`, token.position);
  }
}
