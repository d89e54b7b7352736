package console_test

import (
	"bytes"
	"context"
	"fmt"
	"html"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"github.com/stretchr/testify/require"

	"github.com/reconlayer/reconlayer/internal/db"
	"github.com/reconlayer/reconlayer/internal/importer"
	"github.com/reconlayer/reconlayer/internal/statement"
	"github.com/reconlayer/reconlayer/internal/tasks"
)

// bankCSV has a header, two valid rows (lines 2 and 4) and two invalid
// ones (lines 3 and 5).
const bankCSV = "date,amount,currency,reference,name\n" +
	"2026-11-01,100.00,EUR,REF-1,Alice\n" +
	"2026-11-02,12.3x,EUR,REF-2,Bob\n" +
	"2026-11-03,-40.50,EUR,REF-3,Carol\n" +
	"2026-13-45,5.00,EUR,REF-4,Dave\n"

// importFile submits content as a batch of org, and parses it as the
// worker would unless parse is false (the batch stays queued).
func (b *bundle) importFile(org uuid.UUID, name string, content []byte, parse bool) db.ImportBatch {
	b.t.Helper()
	ctx := context.Background()
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	svc := importer.New(b.pool, log)
	u := importer.Upload{OrganizationID: org, FileName: name, Content: content, CreatedBy: "test"}
	if !strings.HasPrefix(string(content), "<?xml") {
		header := true
		p, err := svc.CreateProfile(ctx, org, importer.ProfileInput{Name: "bank csv " + name, RecordType: importer.RecordBankStatement,
			Settings: statement.Profile{HeaderRow: &header, DateFormat: "YYYY-MM-DD", DecimalSeparator: ".", Fields: []statement.FieldMapping{
				{Column: "date", Path: "bookingDate"}, {Column: "amount", Path: "amount"}, {Column: "currency", Path: "currency"},
				{Column: "reference", Path: "bankReference"}, {Column: "name", Path: "counterpartyName"},
			}}}, nil)
		require.NoError(b.t, err)
		u.ProfileID = &p.ID
	}
	sub, err := svc.Submit(ctx, u, nil)
	require.NoError(b.t, err)
	if parse {
		w := importer.NewWorker(b.pool, tasks.NewEnqueuer(asynq.NewClientFromRedisClient(b.rdb)),
			func(context.Context, []uuid.UUID) error { return nil }, log)
		require.NoError(b.t, w.Parse(ctx, sub.Batch.ID, sub.Job.ID))
	}
	batch, err := svc.GetBatch(ctx, org, sub.Batch.ID)
	require.NoError(b.t, err)
	return batch
}

func statementFixture(t testing.TB, format, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "shared", "fixtures", "statements", format, name))
	require.NoError(t, err)
	return b
}

// The batch list shows the organization's batches with their counts, newest
// first, by status, a keyset page at a time.
func TestConsoleImportBatches(t *testing.T) {
	t.Parallel()
	b := setup(t)
	acme, other := b.org("Acme"), b.org("Other")
	b.user(acme, "ops@acme.example", password)
	for i := range 26 {
		b.importBatch(acme, fmt.Sprintf("old-%02d.csv", i), "completed", "")
	}
	parsed := b.importFile(acme, "november.csv", []byte(bankCSV), true)
	queued := b.importFile(acme, "december.csv", []byte(bankCSV+"2026-12-01,1.00,EUR,REF-5,Eve\n"), false)
	b.importBatch(other, "other-secret.csv", "completed", "")

	c := b.client()
	c.mustSignIn("ops@acme.example", password)
	p := c.get("/console/imports")
	requireHTML(t, p, http.StatusOK)
	requireCSRFInEveryForm(t, p)
	require.Contains(t, p.Body, `<a href="/console/imports" aria-current="page">Imports</a>`)
	require.Contains(t, p.Body, "<caption>28 batches, newest first</caption>")
	require.Contains(t, p.Body, `<a href="/console/imports/`+queued.ID.String()+`">december.csv</a>`)
	require.Contains(t, p.Body, `<a href="/console/imports/`+parsed.ID.String()+`">november.csv</a>`)
	require.Regexp(t, `(?s)id="batch-`+parsed.ID.String()+`">.*?Completed.*?<td class="num">4</td><td class="num">2</td><td class="num">2</td><td class="num">0</td>`, p.Body,
		"rows, valid, invalid, matched")
	require.Regexp(t, `(?s)december\.csv.*november\.csv.*old-25\.csv`, p.Body, "newest first")
	require.NotContains(t, p.Body, "other-secret.csv")
	require.Equal(t, 25, strings.Count(p.Body, `<tr id="batch-`))

	// The next page goes on after the last row shown.
	next := p.text("next-page")
	require.Equal(t, "Older batches", next)
	p = c.get(linkOf(t, p, "next-page"))
	requireHTML(t, p, http.StatusOK)
	require.Equal(t, 3, strings.Count(p.Body, `<tr id="batch-`))
	require.Contains(t, p.Body, "(continued)")
	require.Empty(t, p.text("next-page"))
	require.Equal(t, "/console/imports", linkOf(t, p, "first-page"))

	// By status.
	p = c.get("/console/imports?status=queued")
	requireHTML(t, p, http.StatusOK)
	require.Contains(t, p.Body, "december.csv")
	require.NotContains(t, p.Body, "november.csv")
	require.Contains(t, p.Body, `<option value="queued" selected>Queued</option>`)
	p = c.get("/console/imports?status=failed")
	require.Equal(t, "No import batch is failed.", p.text("no-batches"))

	for _, bad := range []string{"?status=exploded", "?cursor=not-a-cursor"} {
		p = c.get("/console/imports" + bad)
		requireHTML(t, p, http.StatusBadRequest)
		require.Contains(t, p.Body, `id="error"`, bad)
		require.NotContains(t, p.Body, "december.csv", bad)
	}
}

// A batch's page: its counters, statements and raw records, invalid rows
// with the position and reason of each problem.
func TestConsoleImportBatch(t *testing.T) {
	t.Parallel()
	b := setup(t)
	acme, other := b.org("Acme"), b.org("Other")
	b.user(acme, "ops@acme.example", password)
	parsed := b.importFile(acme, "november.csv", []byte(bankCSV), true)
	require.Equal(t, importer.StatusCompleted, parsed.Status)
	camt := b.importFile(acme, "valid_example.xml", statementFixture(t, "camt053", "camt_parser__valid_example.xml"), true)
	queued := b.importFile(acme, "december.csv", []byte(bankCSV+"2026-12-01,1.00,EUR,REF-5,Eve\n"), false)
	var long strings.Builder
	long.WriteString("date,amount,currency,reference,name\n")
	for i := range 60 {
		fmt.Fprintf(&long, "2026-10-01,%d.00,EUR,LONG-%d,Customer\n", i+1, i)
	}
	big := b.importFile(acme, "long.csv", []byte(long.String()), true)
	theirs := b.importFile(other, "theirs.csv", []byte(bankCSV), true)

	c := b.client()
	c.mustSignIn("ops@acme.example", password)
	p := c.get("/console/imports/" + parsed.ID.String())
	requireHTML(t, p, http.StatusOK)
	requireCSRFInEveryForm(t, p)
	require.Contains(t, p.Body, "<h1>november.csv</h1>")
	require.Contains(t, p.Body, `<a href="/console/imports" aria-current="page">Imports</a>`)
	for id, want := range map[string]string{"count-rows": "4", "count-valid": "2", "count-invalid": "2", "count-matched": "0", "batch-status": "Completed"} {
		require.Equal(t, want, p.text(id), id)
	}
	require.Empty(t, p.text("progress"), "a finished batch does not move")
	require.Contains(t, p.Body, "<caption>4 rows, in file order</caption>")
	// Rows in file order, numbered by line (the header is row 1).
	require.Regexp(t, `(?s)id="row-2".*id="row-3".*id="row-4".*id="row-5"`, p.Body)
	row3 := rowHTML(t, p, "row-3")
	require.Contains(t, row3, "Invalid")
	require.Contains(t, row3, `<span class="where">line 3`)
	require.Contains(t, row3, "12.3x")
	require.Contains(t, rowHTML(t, p, "row-5"), "2026-13-45")
	row2 := rowHTML(t, p, "row-2")
	require.Contains(t, row2, "Valid")
	require.Contains(t, row2, "None", "no problem")
	require.Contains(t, row2, "REF-1", "what was read")

	// Only the invalid rows, then only the valid ones.
	p = c.get("/console/imports/" + parsed.ID.String() + "?validationStatus=invalid")
	requireHTML(t, p, http.StatusOK)
	require.Contains(t, p.Body, "<caption>2 invalid rows, in file order</caption>")
	require.Contains(t, p.Body, `id="row-3"`)
	require.Contains(t, p.Body, `id="row-5"`)
	require.NotContains(t, p.Body, `id="row-2"`)
	require.Contains(t, p.Body, `aria-current="true">Invalid rows</a>`)
	p = c.get("/console/imports/" + parsed.ID.String() + "?validationStatus=valid")
	require.Contains(t, p.Body, `id="row-2"`)
	require.NotContains(t, p.Body, `id="row-3"`)

	// A statement file: its balances, and whether its entries add up.
	p = c.get("/console/imports/" + camt.ID.String())
	requireHTML(t, p, http.StatusOK)
	require.Equal(t, "camt.053", camt.Format)
	require.Contains(t, p.Body, `<table id="statements">`)
	require.Contains(t, p.Body, "<td>Add up</td>")
	require.Regexp(t, `<td class="num">[0-9.]+ <span class="muted">\d{4}-\d\d-\d\d</span></td>`, p.Body, "opening and closing balances with their dates")

	// A queued batch says so, with a way to look again.
	p = c.get("/console/imports/" + queued.ID.String())
	requireHTML(t, p, http.StatusOK)
	require.Contains(t, p.text("progress"), "This batch is queued: 0 rows read so far.")
	require.Contains(t, p.Body, `<a href="/console/imports/`+queued.ID.String()+`">Refresh</a>`)
	require.Equal(t, "No row read yet.", p.text("no-rows"))

	// Rows page on after the last row number shown.
	p = c.get("/console/imports/" + big.ID.String())
	require.Equal(t, 50, strings.Count(p.Body, `<tr id="row-`))
	require.Contains(t, p.Body, `id="row-51"`)
	require.Equal(t, "/console/imports/"+big.ID.String()+"?cursor=51#rows", linkOf(t, p, "next-rows"))
	p = c.get("/console/imports/" + big.ID.String() + "?cursor=51")
	requireHTML(t, p, http.StatusOK)
	require.Equal(t, 10, strings.Count(p.Body, `<tr id="row-`))
	require.Contains(t, p.Body, `id="row-52"`)
	require.Contains(t, p.Body, `id="row-61"`)
	require.Empty(t, p.text("next-rows"))

	// Another organization's batch is not found, nor is a made-up one.
	for _, path := range []string{"/console/imports/" + theirs.ID.String(), "/console/imports/" + uuid.NewString(), "/console/imports/nope"} {
		p = c.get(path)
		requireHTML(t, p, http.StatusNotFound)
		require.Equal(t, "Page not found", p.text("error-title"), path)
		require.NotContains(t, p.Body, "theirs.csv")
	}
	for _, q := range []string{"?validationStatus=maybe", "?cursor=-1", "?cursor=x"} {
		requireHTML(t, c.get("/console/imports/"+parsed.ID.String()+q), http.StatusBadRequest)
	}
}

// linkOf is the href of the element with id.
func linkOf(t testing.TB, p page, id string) string {
	t.Helper()
	i := strings.Index(p.Body, `id="`+id+`"`)
	require.Positive(t, i, "no element %s", id)
	start := strings.LastIndex(p.Body[:i], "<")
	tag := p.Body[start : strings.Index(p.Body[start:], ">")+start]
	_, after, ok := strings.Cut(tag, `href="`)
	require.True(t, ok, "no href on %s: %s", id, tag)
	href, _, _ := strings.Cut(after, `"`)
	return strings.ReplaceAll(href, "&amp;", "&")
}

// rowHTML is the <tr> with id.
func rowHTML(t testing.TB, p page, id string) string {
	t.Helper()
	i := strings.Index(p.Body, `<tr id="`+id+`"`)
	require.GreaterOrEqual(t, i, 0, "no row %s", id)
	end := strings.Index(p.Body[i:], "</tr>")
	return p.Body[i : i+end]
}

// upload posts a multipart form: fields, and content as the part "file"
// named fileName (no file part when fileName is "").
func (c *client) upload(path string, fields url.Values, fileName string, content []byte) page {
	c.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for k, vs := range fields {
		for _, v := range vs {
			require.NoError(c.t, mw.WriteField(k, v))
		}
	}
	if fileName != "" {
		fw, err := mw.CreateFormFile("file", fileName)
		require.NoError(c.t, err)
		_, err = fw.Write(content)
		require.NoError(c.t, err)
	}
	require.NoError(c.t, mw.Close())
	req, err := http.NewRequest("POST", c.base+path, &body)
	require.NoError(c.t, err)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := c.hc.Do(req)
	require.NoError(c.t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(c.t, err)
	return page{Status: resp.StatusCode, Header: resp.Header, Body: string(b)}
}

// Uploading a file from the console makes a batch, queued for the worker,
// as the api's multipart upload does; the same file again is that batch.
func TestConsoleImportUpload(t *testing.T) {
	t.Parallel()
	b := setup(t)
	acme, other := b.org("Acme"), b.org("Other")
	user, _ := b.user(acme, "ops@acme.example", password)
	b.importFile(acme, "with-profile.csv", []byte(bankCSV), true) // makes the profile "bank csv with-profile.csv"
	theirs := b.importFile(other, "theirs.csv", []byte(bankCSV), true)
	batches := func() string {
		return b.value(`SELECT count(*)::text FROM import_batches WHERE organization_id = $1`, acme)
	}

	c := b.client()
	c.mustSignIn("ops@acme.example", password)
	p := c.get("/console/imports")
	require.Equal(t, "/console/imports/new", linkOf(t, p, "upload-link"))
	p = c.get("/console/imports/new")
	requireHTML(t, p, http.StatusOK)
	requireCSRFInEveryForm(t, p)
	require.Contains(t, p.Body, `enctype="multipart/form-data"`)
	require.Contains(t, p.Body, ">bank csv with-profile.csv (bank statement)</option>")
	require.NotContains(t, p.Body, "theirs.csv", "another organization's profile is no choice")
	token := p.csrf()
	camt := statementFixture(t, "camt053", "camt_parser__valid_example.xml")

	p = c.upload("/console/imports", url.Values{"csrf_token": {token}}, "march.xml", camt)
	require.Equal(t, http.StatusSeeOther, p.Status, p.Body)
	id, ok := strings.CutPrefix(p.location(), "/console/imports/")
	require.True(t, ok, p.location())
	id, ok = strings.CutSuffix(id, "?notice=uploaded")
	require.True(t, ok, p.location())
	require.Equal(t, "queued", b.value(`SELECT status FROM import_batches WHERE id = $1`, id))
	require.Equal(t, "camt.053", b.value(`SELECT format FROM import_batches WHERE id = $1`, id))
	require.Equal(t, "user:"+user.ID.String(), b.value(`SELECT created_by FROM import_batches WHERE id = $1`, id))
	require.Equal(t, "1", b.value(`SELECT count(*)::text FROM task_outbox WHERE task_id = $1`, "import:parse:"+id))
	p = c.get(p.location())
	requireHTML(t, p, http.StatusOK)
	require.Equal(t, "File uploaded: the batch is queued to be parsed.", p.text("notice"))
	require.Contains(t, p.Body, "<h1>march.xml</h1>")
	require.Contains(t, p.text("progress"), "This batch is queued")

	p = c.upload("/console/imports", url.Values{"csrf_token": {token}}, "march-again.xml", camt)
	require.Equal(t, http.StatusSeeOther, p.Status, p.Body)
	require.Equal(t, "/console/imports/"+id+"?notice=duplicate", p.location())
	require.Equal(t, "This file was uploaded before: this is its batch.", c.get(p.location()).text("notice"))
	require.Equal(t, "2", batches())

	// Refused uploads say why, keep the choices, and make no batch.
	for _, tc := range []struct {
		name   string
		fields url.Values
		file   string
		msg    string
	}{
		{"no file", url.Values{}, "", "Choose the file to upload."},
		{"an empty file", url.Values{}, "empty.csv", "The file empty.csv is empty."},
		{"a CSV without a profile", url.Values{"recordType": {"psp_report"}}, "bank.csv", "The file is not camt.05x XML, BAI2 or MT940, and without an importProfileId it cannot be read as CSV; name its format or give a profile."},
		{"another organization's profile", url.Values{"importProfileId": {theirs.ProfileID.String()}}, "bank.csv", "Import profile: choose one of the list."},
		{"an unknown format", url.Values{"format": {"xlsx"}}, "bank.csv", "Format: choose one of the list."},
	} {
		content := []byte(bankCSV + "2026-12-24,9.99," + tc.name + ",X,Y\n")
		if tc.name == "an empty file" {
			content = nil
		}
		tc.fields.Set("csrf_token", token)
		p = c.upload("/console/imports", tc.fields, tc.file, content)
		requireHTML(t, p, http.StatusBadRequest)
		require.Contains(t, p.Body, "<li>"+html.EscapeString(tc.msg)+"</li>", tc.name)
		if rt := tc.fields.Get("recordType"); rt != "" {
			require.Contains(t, p.Body, `<option value="`+rt+`" selected>`, "the choice is kept")
		}
	}
	require.Equal(t, "2", batches())

	// Without the form's token: 403, no batch.
	p = c.upload("/console/imports", url.Values{}, "other.xml", statementFixture(t, "camt053", "camt_parser__valid_example_v4.xml"))
	requireHTML(t, p, http.StatusForbidden)
	require.Equal(t, "2", batches())
}
