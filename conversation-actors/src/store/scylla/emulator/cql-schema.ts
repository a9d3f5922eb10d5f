import type { CqlType, CreateKeyspaceStatement, CreateTableStatement, DdlStatement, QualifiedName } from './cql-ast.js';
import { alreadyExists, invalid } from './cql-errors.js';
import { TableData } from './cql-storage.js';

/** A column of a table and its role in the primary key. `position` is its index among the key columns of its kind. */
export interface ColumnDef {
  name: string;
  type: CqlType;
  kind: 'partition' | 'clustering' | 'regular';
  position: number;
}

/**
 * A table: its columns by name, partition key and clustering columns in key
 * order (with their ASC/DESC order), regular columns in name order (the
 * order `SELECT *` returns them in, as on a real node), and its data.
 * Dropping and re-creating a table gives a new, empty TableDef.
 */
export class TableDef {
  readonly columns = new Map<string, ColumnDef>();
  readonly partitionKey: ColumnDef[];
  readonly clustering: ColumnDef[];
  readonly regular: ColumnDef[];
  /** true where the clustering column at that index is DESC. */
  readonly clusteringDesc: boolean[];
  readonly data: TableData;

  constructor(
    readonly keyspace: string,
    readonly name: string,
    statement: CreateTableStatement,
  ) {
    const key = new Set([...statement.partitionKey, ...statement.clustering]);
    for (const c of statement.columns) {
      const pk = statement.partitionKey.indexOf(c.name);
      const ck = statement.clustering.indexOf(c.name);
      const kind = pk >= 0 ? 'partition' : ck >= 0 ? 'clustering' : 'regular';
      this.columns.set(c.name, { name: c.name, type: c.type, kind, position: pk >= 0 ? pk : ck >= 0 ? ck : -1 });
    }
    const get = (name: string): ColumnDef => this.columns.get(name) as ColumnDef;
    this.partitionKey = statement.partitionKey.map(get);
    this.clustering = statement.clustering.map(get);
    this.regular = statement.columns.filter((c) => !key.has(c.name)).map((c) => get(c.name)).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const order = new Map(statement.clusteringOrder.map((o) => [o.column, o.desc]));
    this.clusteringDesc = this.clustering.map((c) => order.get(c.name) ?? false);
    this.data = new TableData(this);
  }

  /** `ks.table`, for messages. */
  get qualifiedName(): string {
    return `${this.keyspace}.${this.name}`;
  }

  /** Every column in `SELECT *` order: partition key, clustering, regular columns by name. */
  get allColumns(): ColumnDef[] {
    return [...this.partitionKey, ...this.clustering, ...this.regular];
  }

  /** The column `name`, or Cassandra's "Undefined column name" (invalid). */
  column(name: string): ColumnDef {
    const column = this.columns.get(name);
    if (!column) throw invalid(`Undefined column name ${name}`);
    return column;
  }
}

/** A keyspace: its replication options (kept, not modelled) and tables. */
export interface KeyspaceDef {
  name: string;
  replication: Map<string, string>;
  tables: Map<string, TableDef>;
}

const NAME = /^\w{1,48}$/;
const STRATEGIES = new Map([
  ['SimpleStrategy', 'SimpleStrategy'],
  ['org.apache.cassandra.locator.SimpleStrategy', 'SimpleStrategy'],
  ['NetworkTopologyStrategy', 'NetworkTopologyStrategy'],
  ['org.apache.cassandra.locator.NetworkTopologyStrategy', 'NetworkTopologyStrategy'],
]);

/**
 * The cluster's schema: keyspaces and tables, changed by DDL with Cassandra's
 * rules and messages (alreadyExists without IF NOT EXISTS, invalid for an
 * unknown keyspace/table, a bad primary key or clustering order).
 */
export class Schema {
  readonly keyspaces = new Map<string, KeyspaceDef>();

  /** The table a statement names; its keyspace defaults to the client's. */
  table(name: QualifiedName, defaultKeyspace: string | undefined): TableDef {
    const ks = this.keyspace(name.keyspace ?? defaultKeyspace);
    const table = ks.tables.get(name.name);
    if (!table) throw invalid(`unconfigured table ${name.name}`);
    return table;
  }

  /** A keyspace by name; none given: "No keyspace has been specified". */
  keyspace(name: string | undefined): KeyspaceDef {
    if (name === undefined) throw invalid('No keyspace has been specified. USE a keyspace, or explicitly specify keyspace.tablename');
    const ks = this.keyspaces.get(name);
    if (!ks) throw invalid(`Keyspace ${name} does not exist`);
    return ks;
  }

  /** Applies a DDL statement. */
  apply(statement: DdlStatement, defaultKeyspace: string | undefined): void {
    switch (statement.type) {
      case 'createKeyspace':
        return this.createKeyspace(statement);
      case 'dropKeyspace':
        if (!this.keyspaces.delete(statement.name) && !statement.ifExists) throw invalid(`Keyspace '${statement.name}' doesn't exist`);
        return;
      case 'createTable':
        return this.createTable(statement, defaultKeyspace);
      case 'dropTable': {
        const ks = this.keyspace(statement.table.keyspace ?? defaultKeyspace);
        if (!ks.tables.delete(statement.table.name) && !statement.ifExists) throw invalid(`Table '${ks.name}.${statement.table.name}' doesn't exist`);
        return;
      }
    }
  }

  private createKeyspace(statement: CreateKeyspaceStatement): void {
    if (!NAME.test(statement.name)) throw invalid(`Keyspace name must not be empty, more than 48 characters long, or contain non-alphanumeric-underscore characters (got "${statement.name}")`);
    const replication = statement.replication;
    const given = replication.get('class');
    if (!given) throw invalid('Missing replication strategy class');
    const strategy = STRATEGIES.get(given);
    if (!strategy) throw invalid(`Unable to find replication strategy class '${given}'`);
    for (const [key, value] of replication) {
      if (key !== 'class' && !/^\d+$/.test(value)) throw invalid(`Replication factor must be non-negative integer; found ${value}`);
    }
    if (strategy === 'SimpleStrategy' && !replication.has('replication_factor')) throw invalid('SimpleStrategy requires a replication_factor strategy option.');
    if (this.keyspaces.has(statement.name)) {
      if (statement.ifNotExists) return;
      throw alreadyExists(`Keyspace ${statement.name} already exists`, statement.name);
    }
    this.keyspaces.set(statement.name, { name: statement.name, replication, tables: new Map() });
  }

  private createTable(statement: CreateTableStatement, defaultKeyspace: string | undefined): void {
    const ks = this.keyspace(statement.table.keyspace ?? defaultKeyspace);
    const name = statement.table.name;
    if (!NAME.test(name)) throw invalid(`Table name must not be empty, more than 48 characters long, or contain non-alphanumeric-underscore characters (got "${name}")`);
    checkTableDefinition(statement);
    if (ks.tables.has(name)) {
      if (statement.ifNotExists) return;
      throw alreadyExists(`Cannot add already existing table "${name}" to keyspace "${ks.name}"`, ks.name, name);
    }
    ks.tables.set(name, new TableDef(ks.name, name, statement));
  }
}

/** Cassandra's checks of a table definition: one primary key of defined columns, no duplicates, a complete clustering order. */
function checkTableDefinition(s: CreateTableStatement): void {
  const defined = new Set<string>();
  for (const c of s.columns) {
    if (defined.has(c.name)) throw invalid(`Multiple definition of identifier ${c.name}`);
    defined.add(c.name);
  }
  if (s.partitionKey.length === 0) throw invalid('No PRIMARY KEY specified (exactly one required)');
  const key = new Set<string>();
  for (const name of [...s.partitionKey, ...s.clustering]) {
    if (!defined.has(name)) throw invalid(`Unknown definition ${name} referenced in PRIMARY KEY`);
    if (key.has(name)) throw invalid(`Multiple definition of identifier ${name} in PRIMARY KEY`);
    key.add(name);
  }
  if (s.clusteringOrder.length === 0) return;
  s.clusteringOrder.forEach((o, i) => {
    if (!s.clustering.includes(o.column)) throw invalid('Only clustering key columns can be defined in CLUSTERING ORDER directive');
    if (s.clustering[i] !== o.column) {
      throw invalid(`The order of columns in the CLUSTERING ORDER directive must be the one of the clustering key (${o.column} must appear after ${s.clustering[i]})`);
    }
  });
  const missing = s.clustering[s.clusteringOrder.length];
  if (missing !== undefined) throw invalid(`Missing CLUSTERING ORDER for column ${missing}`);
}
