// Package importer owns file imports: import profiles, the batches files
// come in as, and the worker side that parses a batch's file (internal/
// statement) into one raw record per row or entry — valid ones as evidence
// for the matcher, invalid ones kept with their reasons — resumably, and
// then has its evidence matched.
package importer

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/reconlayer/reconlayer/internal/db"
	"github.com/reconlayer/reconlayer/internal/page"
	"github.com/reconlayer/reconlayer/internal/statement"
	"github.com/reconlayer/reconlayer/internal/tasks"
	"github.com/reconlayer/reconlayer/internal/txn"
)

// Record types: what the rows of a file are.
const (
	RecordBankStatement = "bank_statement"
	RecordPSPReport     = "psp_report"
	RecordOnchainReport = "onchain_report"
	RecordLedger        = "client_internal_ledger"
)

// RecordTypes are the record types a profile or batch may name.
var RecordTypes = []string{RecordBankStatement, RecordPSPReport, RecordOnchainReport, RecordLedger}

// Formats a batch may be in.
var Formats = []string{string(statement.FormatCSV), string(statement.FormatCAMT052), string(statement.FormatCAMT053),
	string(statement.FormatCAMT054), string(statement.FormatBAI2), string(statement.FormatMT940), string(statement.FormatMT942)}

// Batch statuses.
const (
	StatusQueued     = "queued"
	StatusProcessing = "processing"
	StatusCompleted  = "completed"
	StatusFailed     = "failed"
)

// Errors the api maps to responses.
var (
	ErrProfileNotFound = errors.New("import profile not found")
	ErrBatchNotFound   = errors.New("import batch not found")
)

// Service manages profiles and batches.
type Service struct {
	pool *pgxpool.Pool
	q    *db.Queries
	log  *slog.Logger
}

// New builds the service.
func New(pool *pgxpool.Pool, logger *slog.Logger) *Service {
	return &Service{pool: pool, q: db.New(pool), log: logger}
}

// ProfileInput is a validated profile.
type ProfileInput struct {
	Name        string
	Description *string
	RecordType  string
	Settings    statement.Profile
}

// CreateProfile stores a profile.
func (s *Service) CreateProfile(ctx context.Context, org uuid.UUID, in ProfileInput, finish txn.Finish[db.ImportProfile]) (db.ImportProfile, error) {
	settings, err := json.Marshal(in.Settings)
	if err != nil {
		return db.ImportProfile{}, fmt.Errorf("encode profile: %w", err)
	}
	return txn.Run(ctx, s.pool, func(tx pgx.Tx) (db.ImportProfile, error) {
		p, err := s.q.WithTx(tx).CreateImportProfile(ctx, db.CreateImportProfileParams{
			OrganizationID: org, Name: in.Name, Description: in.Description, RecordType: in.RecordType, Settings: settings,
		})
		if err != nil {
			return p, fmt.Errorf("create import profile: %w", err)
		}
		return p, nil
	}, finish)
}

// GetProfile reads one profile.
func (s *Service) GetProfile(ctx context.Context, org, id uuid.UUID) (db.ImportProfile, error) {
	p, err := s.q.GetImportProfile(ctx, db.GetImportProfileParams{OrganizationID: org, ID: id})
	if errors.Is(err, pgx.ErrNoRows) {
		return p, ErrProfileNotFound
	}
	if err != nil {
		return p, fmt.Errorf("read import profile: %w", err)
	}
	return p, nil
}

// ListProfiles returns a page of profiles, newest first, and the total.
func (s *Service) ListProfiles(ctx context.Context, org uuid.UUID, p page.Page) ([]db.ImportProfile, int64, error) {
	total, err := s.q.CountImportProfiles(ctx, org)
	if err != nil {
		return nil, 0, fmt.Errorf("count import profiles: %w", err)
	}
	at, id := p.Bound()
	rows, err := s.q.ListImportProfiles(ctx, db.ListImportProfilesParams{
		OrganizationID: org, AfterCreatedAt: at, AfterID: id, Lim: int32(p.Limit), Off: int32(p.Offset),
	})
	if err != nil {
		return nil, 0, fmt.Errorf("list import profiles: %w", err)
	}
	return rows, total, nil
}

// ProfileUpdate changes the given fields only.
type ProfileUpdate struct {
	Name           *string
	SetDescription bool
	Description    *string
	RecordType     *string
	Settings       *statement.Profile
}

// UpdateProfile changes a profile; batches already queued keep the
// settings they came in with.
func (s *Service) UpdateProfile(ctx context.Context, org, id uuid.UUID, in ProfileUpdate) (db.ImportProfile, error) {
	var settings []byte
	if in.Settings != nil {
		var err error
		if settings, err = json.Marshal(in.Settings); err != nil {
			return db.ImportProfile{}, fmt.Errorf("encode profile: %w", err)
		}
	}
	p, err := s.q.UpdateImportProfile(ctx, db.UpdateImportProfileParams{
		OrganizationID: org, ID: id, Name: in.Name, SetDescription: in.SetDescription, Description: in.Description,
		RecordType: in.RecordType, Settings: settings,
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return p, ErrProfileNotFound
	}
	if err != nil {
		return p, fmt.Errorf("update import profile: %w", err)
	}
	return p, nil
}

// DeleteProfile removes a profile (batches keep their copy of it).
func (s *Service) DeleteProfile(ctx context.Context, org, id uuid.UUID) (db.ImportProfile, error) {
	p, err := s.q.DeleteImportProfile(ctx, db.DeleteImportProfileParams{OrganizationID: org, ID: id})
	if errors.Is(err, pgx.ErrNoRows) {
		return p, ErrProfileNotFound
	}
	if err != nil {
		return p, fmt.Errorf("delete import profile: %w", err)
	}
	return p, nil
}

// Upload is a validated file to import.
type Upload struct {
	OrganizationID uuid.UUID
	ProfileID      *uuid.UUID
	RecordType     string // "" : the profile's, else bank_statement
	Format         string // "" : detected from the content
	FileName       string
	Content        []byte
	CreatedBy      string
	// AcceptControlMismatch: control totals the file states that its
	// entries do not add up to are warnings, not the batch's failure.
	AcceptControlMismatch bool
}

// Submitted is a stored batch, whether the same content was already there,
// and (for a new batch) the parse task to enqueue after commit.
type Submitted struct {
	Batch     db.ImportBatch
	Duplicate bool
	Job       *tasks.Job
}

// InputError is an upload that cannot be imported as asked: its format is
// not given and cannot be recognized, it needs a profile it lacks, or its
// record type cannot come in that format.
type InputError struct {
	Field string
	Msg   string
}

func (e *InputError) Error() string { return e.Msg }

// Submit stores a file as a batch with its parse task in the outbox, in one
// transaction; the same content again is answered with the stored batch.
func (s *Service) Submit(ctx context.Context, u Upload, finish txn.Finish[Submitted]) (Submitted, error) {
	sum := sha256.Sum256(u.Content)
	return txn.Run(ctx, s.pool, func(tx pgx.Tx) (Submitted, error) {
		q := s.q.WithTx(tx)
		if b, err := q.GetImportBatchBySHA(ctx, db.GetImportBatchBySHAParams{OrganizationID: u.OrganizationID, ContentSha256: sum[:]}); err == nil {
			return Submitted{Batch: b, Duplicate: true}, nil
		} else if !errors.Is(err, pgx.ErrNoRows) {
			return Submitted{}, fmt.Errorf("look up batch by content: %w", err)
		}
		var settings []byte
		recordType := u.RecordType
		if u.ProfileID != nil {
			p, err := q.GetImportProfile(ctx, db.GetImportProfileParams{OrganizationID: u.OrganizationID, ID: *u.ProfileID})
			if errors.Is(err, pgx.ErrNoRows) {
				return Submitted{}, ErrProfileNotFound
			}
			if err != nil {
				return Submitted{}, fmt.Errorf("read import profile: %w", err)
			}
			settings = p.Settings
			if recordType == "" {
				recordType = p.RecordType
			}
		}
		if recordType == "" {
			recordType = RecordBankStatement
		}
		format, err := decideFormat(u.Format, u.Content, u.ProfileID != nil)
		if err != nil {
			return Submitted{}, err
		}
		if recordType == RecordLedger && format != string(statement.FormatCSV) {
			return Submitted{}, &InputError{"recordType", "A client_internal_ledger file is a CSV read through an import profile that maps its columns to payment intent fields (externalReference, sourceAmount, sourceCurrency, paymentType, …)."}
		}
		b, err := q.InsertImportBatch(ctx, db.InsertImportBatchParams{
			OrganizationID: u.OrganizationID, ProfileID: u.ProfileID, ProfileSettings: settings, RecordType: recordType,
			Format: format, OriginalFileName: u.FileName, ContentSha256: sum[:], SizeBytes: int64(len(u.Content)), CreatedBy: u.CreatedBy,
			AcceptControlMismatch: u.AcceptControlMismatch,
		})
		if errors.Is(err, pgx.ErrNoRows) {
			// The same content committed meanwhile.
			b, err = q.GetImportBatchBySHA(ctx, db.GetImportBatchBySHAParams{OrganizationID: u.OrganizationID, ContentSha256: sum[:]})
			return Submitted{Batch: b, Duplicate: true}, err
		}
		if err != nil {
			return Submitted{}, fmt.Errorf("record import batch: %w", err)
		}
		if err := q.InsertImportFile(ctx, db.InsertImportFileParams{BatchID: b.ID, Content: u.Content}); err != nil {
			return Submitted{}, fmt.Errorf("store import file: %w", err)
		}
		job := NewParseJob(b)
		if err := tasks.Record(ctx, q, job); err != nil {
			return Submitted{}, err
		}
		return Submitted{Batch: b, Job: &job}, nil
	}, finish)
}

// decideFormat is the given format, or the one the content shows.
func decideFormat(given string, content []byte, hasProfile bool) (string, error) {
	if given != "" {
		if given == string(statement.FormatCSV) && !hasProfile {
			return "", &InputError{"importProfileId", "A CSV file needs an importProfileId: the profile says what its columns are."}
		}
		return given, nil
	}
	if f, ok := statement.Detect(content); ok {
		return string(f), nil
	}
	if hasProfile {
		return string(statement.FormatCSV), nil
	}
	return "", &InputError{"format", "The file is not camt.05x XML, BAI2 or MT940, and without an importProfileId it cannot be read as CSV; name its format or give a profile."}
}

// GetBatch reads one batch.
func (s *Service) GetBatch(ctx context.Context, org, id uuid.UUID) (db.ImportBatch, error) {
	b, err := s.q.GetImportBatch(ctx, db.GetImportBatchParams{OrganizationID: org, ID: id})
	if errors.Is(err, pgx.ErrNoRows) {
		return b, ErrBatchNotFound
	}
	if err != nil {
		return b, fmt.Errorf("read import batch: %w", err)
	}
	return b, nil
}

// ListBatches returns a page of batches (status nil: all), newest first,
// and the total.
func (s *Service) ListBatches(ctx context.Context, org uuid.UUID, status *string, p page.Page) ([]db.ImportBatch, int64, error) {
	total, err := s.q.CountImportBatches(ctx, db.CountImportBatchesParams{OrganizationID: org, Status: status})
	if err != nil {
		return nil, 0, fmt.Errorf("count import batches: %w", err)
	}
	at, id := p.Bound()
	rows, err := s.q.ListImportBatches(ctx, db.ListImportBatchesParams{
		OrganizationID: org, Status: status, AfterCreatedAt: at, AfterID: id, Lim: int32(p.Limit), Off: int32(p.Offset),
	})
	if err != nil {
		return nil, 0, fmt.Errorf("list import batches: %w", err)
	}
	return rows, total, nil
}

// Rows returns a page of a batch's rows in file order after row afterRow
// (validation nil: all), and the total.
func (s *Service) Rows(ctx context.Context, org, batchID uuid.UUID, validation *string, afterRow int32, limit, offset int) ([]db.RawRecord, int64, error) {
	if _, err := s.GetBatch(ctx, org, batchID); err != nil {
		return nil, 0, err
	}
	total, err := s.q.CountImportRows(ctx, db.CountImportRowsParams{OrganizationID: org, BatchID: &batchID, ValidationStatus: validation})
	if err != nil {
		return nil, 0, fmt.Errorf("count import rows: %w", err)
	}
	rows, err := s.q.ListImportRows(ctx, db.ListImportRowsParams{
		OrganizationID: org, BatchID: &batchID, ValidationStatus: validation, AfterRow: &afterRow, Lim: int32(limit), Off: int32(offset),
	})
	if err != nil {
		return nil, 0, fmt.Errorf("list import rows: %w", err)
	}
	return rows, total, nil
}

// Task types of imports.
const (
	TypeParse = "import:parse"
	TypeMatch = "import:match"
)

// BatchTask names a batch.
type BatchTask struct {
	BatchID uuid.UUID `json:"batchId"`
}

// JobID is the task id (and outbox row) of a batch's parse or match task.
func JobID(taskType string, batchID uuid.UUID) string { return taskType + ":" + batchID.String() }

// NewParseJob is the task that parses a new batch. A run may take long
// (a 50 MiB file); if it is cut short, the next resumes where it stopped.
func NewParseJob(b db.ImportBatch) tasks.Job {
	p, _ := json.Marshal(BatchTask{BatchID: b.ID})
	return tasks.Job{ID: JobID(TypeParse, b.ID), Type: TypeParse, Queue: "default", Payload: p, OrganizationID: &b.OrganizationID, Timeout: 30 * time.Minute}
}

// NewMatchJob is the task that matches a parsed batch's evidence.
func NewMatchJob(b db.ImportBatch) tasks.Job {
	p, _ := json.Marshal(BatchTask{BatchID: b.ID})
	return tasks.Job{ID: JobID(TypeMatch, b.ID), Type: TypeMatch, Queue: "low", Payload: p, OrganizationID: &b.OrganizationID, Timeout: 30 * time.Minute}
}
