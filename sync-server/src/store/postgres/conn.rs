//! Pooled connections that keep their prepared statements.
//!
//! `postgres::Client::query(&str, …)` prepares the statement, runs it and
//! closes it again: two round trips and a parse and plan on the server for
//! every call. The store's statements are a fixed set of texts, so each
//! connection prepares a text once and reuses the statement for as long as
//! the connection lives ([`STATEMENT_CACHE`] texts at most).

use std::collections::HashMap;

use postgres::types::ToSql;
use postgres::{Client, GenericClient, NoTls, Row, Statement, Transaction};

/// Statement texts a connection keeps prepared. The store has about 200;
/// the rest (texts built for one query, such as the console's filters)
/// run unprepared once the cache is full.
pub const STATEMENT_CACHE: usize = 512;

/// A connection and the statements prepared on it.
pub struct Conn {
    client: Client,
    statements: HashMap<String, Statement>,
}

impl std::fmt::Debug for Conn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Conn")
            .field("statements", &self.statements.len())
            .finish_non_exhaustive()
    }
}

impl Conn {
    /// The client, with the statement cache beside it, for [`Db`].
    pub fn parts(&mut self) -> (&mut Client, &mut HashMap<String, Statement>) {
        (&mut self.client, &mut self.statements)
    }
}

/// Opens [`Conn`]s for the r2d2 pool.
#[derive(Debug)]
pub struct Manager {
    config: postgres::Config,
}

impl Manager {
    pub fn new(config: postgres::Config) -> Self {
        Self { config }
    }
}

impl r2d2::ManageConnection for Manager {
    type Connection = Conn;
    type Error = postgres::Error;

    fn connect(&self) -> Result<Conn, postgres::Error> {
        Ok(Conn {
            client: self.config.connect(NoTls)?,
            statements: HashMap::new(),
        })
    }

    fn is_valid(&self, conn: &mut Conn) -> Result<(), postgres::Error> {
        conn.client.simple_query("").map(drop)
    }

    fn has_broken(&self, conn: &mut Conn) -> bool {
        conn.client.is_closed()
    }
}

/// A client (a connection, [`Plain`], or one of its transactions) whose
/// statements are prepared once per connection.
pub struct Db<'a, C> {
    client: C,
    statements: &'a mut HashMap<String, Statement>,
}

/// A connection outside any transaction.
pub type Plain<'a> = Db<'a, &'a mut Client>;

impl<C> std::fmt::Debug for Db<'_, C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db")
            .field("statements", &self.statements.len())
            .finish_non_exhaustive()
    }
}

impl<'a, C> Db<'a, C> {
    pub fn new(client: C, statements: &'a mut HashMap<String, Statement>) -> Self {
        Self { client, statements }
    }

    /// How many statement texts this connection keeps prepared.
    #[cfg(test)]
    pub fn cached(&self) -> usize {
        self.statements.len()
    }
}

impl Db<'_, &mut Client> {
    /// Starts a transaction (read committed) that shares the cache.
    pub fn transaction(&mut self) -> Result<Db<'_, Transaction<'_>>, postgres::Error> {
        Ok(Db {
            client: self.client.transaction()?,
            statements: self.statements,
        })
    }
}

impl Db<'_, Transaction<'_>> {
    /// Commits; dropping the value instead rolls back.
    pub fn commit(self) -> Result<(), postgres::Error> {
        self.client.commit()
    }
}

type Params<'p> = &'p [&'p (dyn ToSql + Sync)];

/// The calls of `GenericClient` that [`Db`] builds on, for both kinds of
/// client it holds.
pub trait Raw {
    fn client(&mut self) -> &mut impl GenericClient;
}

impl Raw for &mut Client {
    fn client(&mut self) -> &mut impl GenericClient {
        &mut **self
    }
}

impl Raw for Transaction<'_> {
    fn client(&mut self) -> &mut impl GenericClient {
        self
    }
}

/// What the store's queries need of a client: `GenericClient`'s calls, with
/// statements prepared once per connection.
pub trait Sql {
    /// The prepared statement for `sql`, from the cache or prepared now.
    fn prepare(&mut self, sql: &str) -> Result<Statement, postgres::Error>;

    /// Runs statements with no parameters, unprepared (`SET`, locks).
    fn batch_execute(&mut self, sql: &str) -> Result<(), postgres::Error>;

    /// Runs a prepared statement, returning the rows it changed.
    fn execute_prepared(
        &mut self,
        statement: &Statement,
        params: Params<'_>,
    ) -> Result<u64, postgres::Error>;

    /// Runs a prepared statement, returning its rows.
    fn query_prepared(
        &mut self,
        statement: &Statement,
        params: Params<'_>,
    ) -> Result<Vec<Row>, postgres::Error>;

    /// Runs `sql` and hands its rows out one at a time as they arrive.
    fn query_iter<'s, P, I>(
        &'s mut self,
        sql: &str,
        params: I,
    ) -> Result<postgres::RowIter<'s>, postgres::Error>
    where
        P: postgres::types::BorrowToSql,
        I: IntoIterator<Item = P>,
        I::IntoIter: ExactSizeIterator;

    fn execute(&mut self, sql: &str, params: Params<'_>) -> Result<u64, postgres::Error> {
        let statement = self.prepare(sql)?;
        self.execute_prepared(&statement, params)
    }

    fn query(&mut self, sql: &str, params: Params<'_>) -> Result<Vec<Row>, postgres::Error> {
        let statement = self.prepare(sql)?;
        self.query_prepared(&statement, params)
    }

    /// The one row `sql` returns; an error when it returns none or more.
    fn query_one(&mut self, sql: &str, params: Params<'_>) -> Result<Row, ExactlyOne> {
        let mut rows = self.query(sql, params)?;
        match rows.len() {
            1 => Ok(rows.remove(0)),
            n => Err(ExactlyOne::Rows(n)),
        }
    }

    /// The row `sql` returns, if any; an error when it returns more than one.
    fn query_opt(&mut self, sql: &str, params: Params<'_>) -> Result<Option<Row>, ExactlyOne> {
        let mut rows = self.query(sql, params)?;
        match rows.len() {
            0 => Ok(None),
            1 => Ok(Some(rows.remove(0))),
            n => Err(ExactlyOne::Rows(n)),
        }
    }
}

/// A query meant to return one row (at most one) that did not.
#[derive(Debug, thiserror::Error)]
pub enum ExactlyOne {
    #[error(transparent)]
    Database(#[from] postgres::Error),
    #[error("a query for one row returned {0}")]
    Rows(usize),
}

impl<C: Raw> Sql for Db<'_, C> {
    fn prepare(&mut self, sql: &str) -> Result<Statement, postgres::Error> {
        if let Some(statement) = self.statements.get(sql) {
            return Ok(statement.clone());
        }
        let statement = self.client.client().prepare(sql)?;
        if self.statements.len() < STATEMENT_CACHE {
            self.statements.insert(sql.to_owned(), statement.clone());
        }
        Ok(statement)
    }

    fn batch_execute(&mut self, sql: &str) -> Result<(), postgres::Error> {
        self.client.client().batch_execute(sql)
    }

    fn execute_prepared(
        &mut self,
        statement: &Statement,
        params: Params<'_>,
    ) -> Result<u64, postgres::Error> {
        self.client.client().execute(statement, params)
    }

    fn query_prepared(
        &mut self,
        statement: &Statement,
        params: Params<'_>,
    ) -> Result<Vec<Row>, postgres::Error> {
        self.client.client().query(statement, params)
    }

    fn query_iter<'s, P, I>(
        &'s mut self,
        sql: &str,
        params: I,
    ) -> Result<postgres::RowIter<'s>, postgres::Error>
    where
        P: postgres::types::BorrowToSql,
        I: IntoIterator<Item = P>,
        I::IntoIter: ExactSizeIterator,
    {
        let statement = self.prepare(sql)?;
        self.client.client().query_raw(&statement, params)
    }
}
