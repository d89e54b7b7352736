package backend

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"
)

// PoolConfig parses a database URL into the pool configuration every process
// and every test uses.
func PoolConfig(databaseURL string) (*pgxpool.Config, error) {
	pcfg, err := pgxpool.ParseConfig(databaseURL)
	if err != nil {
		return nil, err
	}
	// JIT compiling pays off for long analytic queries, not for ours: a
	// prepared statement's generic plan over a batch parameter (unnest of a
	// uuid[]) is costed far above jit_above_cost, and compiling it took
	// 600 ms of a 700 ms statement (the expected-payments matcher's
	// candidate search). A URL that sets jit itself keeps its choice.
	if _, set := pcfg.ConnConfig.RuntimeParams["jit"]; !set {
		pcfg.ConnConfig.RuntimeParams["jit"] = "off"
	}
	pcfg.AfterConnect = func(_ context.Context, conn *pgx.Conn) error {
		registerUUID(conn.TypeMap())
		registerNumeric(conn.TypeMap()) // numeric.Decimal/Null without math/big (numeric.go)
		return nil
	}
	return pcfg, nil
}

// registerUUID makes uuid columns scan straight into google/uuid's UUID.
// uuid.UUID is a sql.Scanner, which pgx would otherwise prefer: every id then
// went through its text form and uuid.Parse. pgx asks a type's codec before
// looking for a Scanner, so this codec answers for *uuid.UUID first.
func registerUUID(m *pgtype.Map) {
	m.RegisterType(&pgtype.Type{Name: "uuid", OID: pgtype.UUIDOID, Codec: uuidCodec{}})
}

type uuidCodec struct{ pgtype.UUIDCodec }

func (c uuidCodec) PlanScan(m *pgtype.Map, oid uint32, format int16, target any) pgtype.ScanPlan {
	if _, ok := target.(*uuid.UUID); ok && format == pgtype.BinaryFormatCode {
		return scanUUID{}
	}
	return c.UUIDCodec.PlanScan(m, oid, format, target)
}

// PlanEncode sends a uuid.UUID as its 16 bytes. Without it a uuid.UUID is
// a driver.Valuer to pgx: each one, and each element of a []uuid.UUID
// parameter, went through its text form, after pgx tried (and failed, at the
// cost of an error value) the plans before that one.
func (c uuidCodec) PlanEncode(m *pgtype.Map, oid uint32, format int16, value any) pgtype.EncodePlan {
	if format == pgtype.BinaryFormatCode {
		switch value.(type) {
		case uuid.UUID:
			return encodeUUID{}
		case *uuid.UUID:
			// A nullable id (sqlc's *uuid.UUID) is a driver.Valuer too.
			return encodeUUIDPtr{}
		}
	}
	return c.UUIDCodec.PlanEncode(m, oid, format, value)
}

type encodeUUIDPtr struct{}

func (encodeUUIDPtr) Encode(value any, buf []byte) ([]byte, error) {
	u := value.(*uuid.UUID)
	if u == nil {
		return nil, nil
	}
	return append(buf, u[:]...), nil
}

type encodeUUID struct{}

func (encodeUUID) Encode(value any, buf []byte) ([]byte, error) {
	u := value.(uuid.UUID)
	return append(buf, u[:]...), nil
}

type scanUUID struct{}

func (scanUUID) Scan(src []byte, dst any) error {
	if src == nil {
		return fmt.Errorf("cannot scan NULL into *uuid.UUID")
	}
	if len(src) != 16 {
		return fmt.Errorf("invalid length for uuid: %d", len(src))
	}
	copy(dst.(*uuid.UUID)[:], src)
	return nil
}
