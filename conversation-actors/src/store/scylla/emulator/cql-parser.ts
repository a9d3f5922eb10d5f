import type { Conditions, DeleteStatement, InsertStatement, ParsedStatement, SelectStatement, Statement, Term, UpdateStatement } from './cql-ast.js';
import { Cursor } from './cql-cursor.js';
import { unsupported } from './cql-errors.js';
import { parseCreate, parseDrop } from './cql-parser-ddl.js';

/**
 * Parses one statement of the subset: SELECT, INSERT, UPDATE, DELETE,
 * CREATE/DROP KEYSPACE and CREATE/DROP TABLE (see cql-ast.ts for the shapes).
 * Keywords are case-insensitive, identifiers lowercased unless double-quoted,
 * bind markers numbered in order of appearance. Anything else (other
 * statements, USING TTL/TIMESTAMP, IN, functions, collections, JSON, BEGIN
 * BATCH text, ...) throws the driver's ResponseError with code syntaxError
 * and a message `emulator: unsupported: <what>`, or a syntax error with the
 * position for text that is not CQL.
 */
export function parseCql(text: string): ParsedStatement {
  const c = new Cursor(text);
  const statement = parseStatement(c);
  c.end();
  return { statement, markers: c.markers };
}

function parseStatement(c: Cursor): Statement {
  const first = c.peek();
  if (first.kind !== 'word') return c.fail('expecting a statement');
  switch (first.value) {
    case 'select':
      return parseSelect(c);
    case 'insert':
      return parseInsert(c);
    case 'update':
      return parseUpdate(c);
    case 'delete':
      return parseDelete(c);
    case 'create':
      return parseCreate(c);
    case 'drop':
      return parseDrop(c);
    case 'begin':
      throw unsupported('BEGIN BATCH text (send batches with client.batch())');
    default:
      throw unsupported(`${first.text.toUpperCase()} statements`);
  }
}

function parseSelect(c: Cursor): SelectStatement {
  c.expectKeyword('select');
  if (c.isKeyword('distinct') || c.isKeyword('json')) throw unsupported(`SELECT ${c.peek().text.toUpperCase()}`);
  let columns: string[] | '*';
  if (c.acceptPunct('*')) {
    columns = '*';
  } else {
    columns = [];
    do {
      if (c.peek(1).kind === 'punct' && c.peek(1).value === '(') throw unsupported(`selector function ${c.peek().text}(...)`);
      columns.push(c.identifier());
      if (c.isKeyword('as')) throw unsupported('column aliases (AS)');
    } while (c.acceptPunct(','));
  }
  c.expectKeyword('from');
  const table = c.qualifiedName();
  const where = c.acceptKeyword('where') ? c.relations() : [];
  const orderBy: SelectStatement['orderBy'] = [];
  if (c.acceptKeyword('order')) {
    c.expectKeyword('by');
    do {
      const column = c.identifier();
      const desc = c.acceptKeyword('desc');
      if (!desc) c.acceptKeyword('asc');
      orderBy.push({ column, desc });
    } while (c.acceptPunct(','));
  }
  if (c.isKeyword('per')) throw unsupported('PER PARTITION LIMIT');
  let limit: Term | undefined;
  if (c.acceptKeyword('limit')) limit = c.term();
  const allowFiltering = c.acceptKeyword('allow');
  if (allowFiltering) c.expectKeyword('filtering');
  if (c.isKeyword('bypass') || c.isKeyword('using')) throw unsupported(`${c.peek().text.toUpperCase()} clause`);
  return { type: 'select', table, columns, where, orderBy, ...(limit ? { limit } : {}), allowFiltering };
}

function parseInsert(c: Cursor): InsertStatement {
  c.expectKeyword('insert', 'into');
  const table = c.qualifiedName();
  if (c.isKeyword('json')) throw unsupported('INSERT JSON');
  c.expectPunct('(');
  const columns = [c.identifier()];
  while (c.acceptPunct(',')) columns.push(c.identifier());
  c.expectPunct(')');
  c.expectKeyword('values');
  c.expectPunct('(');
  const values = [c.term()];
  while (c.acceptPunct(',')) values.push(c.term());
  c.expectPunct(')');
  let ifNotExists = false;
  if (c.acceptKeyword('if')) {
    c.expectKeyword('not', 'exists');
    ifNotExists = true;
  }
  noUsing(c);
  return { type: 'insert', table, columns, values, ifNotExists };
}

function parseUpdate(c: Cursor): UpdateStatement {
  c.expectKeyword('update');
  const table = c.qualifiedName();
  noUsing(c);
  c.expectKeyword('set');
  const assignments: UpdateStatement['assignments'] = [];
  do {
    const column = c.identifier();
    if (c.isPunct('[') || c.isPunct('.')) throw unsupported(`element or field assignment to ${column}`);
    c.expectPunct('=');
    const term = c.term();
    if (c.isPunct('+') || c.peek().kind === 'integer' || c.peek().kind === 'float') throw unsupported(`arithmetic or collection update of ${column}`);
    assignments.push({ column, term });
  } while (c.acceptPunct(','));
  c.expectKeyword('where');
  const where = c.relations();
  return { type: 'update', table, assignments, where, conditions: parseConditions(c) };
}

function parseDelete(c: Cursor): DeleteStatement {
  c.expectKeyword('delete');
  const columns: string[] = [];
  if (!c.isKeyword('from')) {
    do {
      columns.push(c.identifier());
      if (c.isPunct('[') || c.isPunct('.')) throw unsupported('deleting a collection element or UDT field');
    } while (c.acceptPunct(','));
  }
  c.expectKeyword('from');
  const table = c.qualifiedName();
  noUsing(c);
  c.expectKeyword('where');
  const where = c.relations();
  return { type: 'delete', table, columns, where, conditions: parseConditions(c) };
}

/** `IF EXISTS`, `IF cond AND cond ...`, or nothing. */
function parseConditions(c: Cursor): Conditions {
  if (!c.acceptKeyword('if')) return { kind: 'none' };
  if (c.acceptKeyword('exists')) return { kind: 'exists' };
  if (c.isKeyword('not') && c.isKeyword('exists', 1)) return c.fail('IF NOT EXISTS is only valid on INSERT');
  return { kind: 'columns', conditions: c.relations() };
}

function noUsing(c: Cursor): void {
  if (c.isKeyword('using')) throw unsupported('USING TTL / TIMESTAMP / TIMEOUT');
}
