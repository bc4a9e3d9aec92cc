package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// inBatchTx is inTx with the transaction's "begin" sent in one round trip
// with its first statements, which queue queues: a transaction begun by
// pgx's Begin costs a round trip of its own before them. fn gets the batch's
// results after the begin, reads every result queue queued and closes them
// before it uses tx. The commit, when fn returns nil, is a round trip of its
// own, as in inTx.
func (s *Store) inBatchTx(ctx context.Context, op string, v vals, queue func(*pgx.Batch), fn func(tx pgx.Tx, br pgx.BatchResults) error) error {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return s.convert(op, err, v)
	}
	defer conn.Release()
	tx := &batchTx{conn: conn.Conn()}
	defer tx.Rollback(ctx) //nolint:errcheck // a no-op after Commit
	b := &pgx.Batch{}
	b.Queue("begin")
	queue(b)
	br := tx.conn.SendBatch(ctx, b)
	if _, err := br.Exec(); err != nil {
		br.Close()
		return s.convert(op, err, v)
	}
	if err := fn(tx, br); err != nil {
		br.Close()
		var ce callerErr
		if errors.As(err, &ce) {
			return ce.err
		}
		return s.convert(op, err, v)
	}
	if err := br.Close(); err != nil {
		return s.convert(op, err, v)
	}
	if tx.committed {
		return nil
	}
	return s.convert(op, tx.Commit(ctx), v)
}

// committed reports whether tag is that of a commit fn sent itself, in a
// batch, that committed (PostgreSQL answers ROLLBACK to the commit of a
// failed transaction); the transaction is over either way.
func committed(tx pgx.Tx, tag pgconn.CommandTag) bool {
	bt := tx.(*batchTx)
	bt.closed = true
	bt.committed = tag.String() == "COMMIT"
	return bt.committed
}

// batchTx is a transaction that a "begin" in a batch opened on conn.
// Savepoints are not offered: nothing run in one needs them.
type batchTx struct {
	conn              *pgx.Conn
	closed, committed bool
}

var errNoSavepoints = errors.New("postgres: no savepoints in a transaction begun in a batch")

func (tx *batchTx) Begin(context.Context) (pgx.Tx, error) { return nil, errNoSavepoints }

// Commit commits, as pgx's own transactions do: a commit PostgreSQL turns
// into a rollback (the transaction had failed) is an error.
func (tx *batchTx) Commit(ctx context.Context) error {
	if tx.closed {
		return pgx.ErrTxClosed
	}
	tx.closed = true
	tag, err := tx.conn.Exec(ctx, "commit")
	if err != nil {
		if tx.conn.PgConn().TxStatus() != 'I' {
			_ = tx.conn.Close(ctx) // the error is the one to return
		}
		return err
	}
	if tag.String() == "ROLLBACK" {
		return pgx.ErrTxCommitRollback
	}
	return nil
}

// Rollback ends the transaction unless it is over; the connection goes back
// to the pool idle, or closed.
func (tx *batchTx) Rollback(ctx context.Context) error {
	if tx.closed {
		return pgx.ErrTxClosed
	}
	tx.closed = true
	if tx.conn.IsClosed() || tx.conn.PgConn().TxStatus() == 'I' {
		return nil
	}
	if _, err := tx.conn.Exec(ctx, "rollback"); err != nil {
		_ = tx.conn.Close(ctx)
		return err
	}
	return nil
}

func (tx *batchTx) CopyFrom(ctx context.Context, table pgx.Identifier, cols []string, src pgx.CopyFromSource) (int64, error) {
	return tx.conn.CopyFrom(ctx, table, cols, src)
}
func (tx *batchTx) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	return tx.conn.SendBatch(ctx, b)
}

// LargeObjects is not offered either (Roster stores none): its zero value
// fails on use.
func (tx *batchTx) LargeObjects() pgx.LargeObjects { return pgx.LargeObjects{} }
func (tx *batchTx) Prepare(ctx context.Context, name, sql string) (*pgconn.StatementDescription, error) {
	return tx.conn.Prepare(ctx, name, sql)
}
func (tx *batchTx) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	return tx.conn.Exec(ctx, sql, args...)
}
func (tx *batchTx) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	return tx.conn.Query(ctx, sql, args...)
}
func (tx *batchTx) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	return tx.conn.QueryRow(ctx, sql, args...)
}
func (tx *batchTx) Conn() *pgx.Conn { return tx.conn }
