// Package client is a typed Go client of the ReconLayer HTTP API: payment
// intents, evidence, reconciliation cases and exports, imports, webhook
// endpoints, ledgers and ledger reconciliation runs, internal accounts,
// counterparties, expected payments and transactions.
//
// It owns the parts of the API contract a caller would otherwise get wrong
// by hand: every POST carries an Idempotency-Key (the caller's, or a fresh
// UUIDv4 generated once per call) that is reused unchanged on every retry;
// retries follow Retry-After; request bodies are encoded once, so a retry
// sends the very bytes the server fingerprinted; errors come back as
// *Error with the documented envelope.
//
// Usage:
//
//	c := client.New("https://reconlayer.example.com", client.WithCredential(os.Getenv("RECONLAYER_API_KEY")))
//	created, err := c.CreatePaymentIntent(ctx, client.CreatePaymentIntentParams{
//		ExternalReference: "order_1001",
//		SourceAmount:      "100.00",
//		SourceCurrency:    "USD",
//		PaymentType:       "other",
//	})
//	if err != nil {
//		var apiErr *client.Error
//		if errors.As(err, &apiErr) && apiErr.Code == client.CodePaymentIntentConflict {
//			// the externalReference exists with other fields: apiErr.Details says which
//		}
//		return err
//	}
//	receipt, err := c.SubmitProviderEvidence(ctx, client.ProviderEvidence{
//		Provider: "acmepay", ProviderTransferID: "tr_1001", Status: "completed",
//		Amount: client.Money{Amount: "100.00", Currency: "USD"}, ExternalReference: "order_1001",
//	})
//	cs, err := c.GetCase(ctx, created.CaseID)
//
// # Retries
//
// A request is retried, up to RetryPolicy.MaxAttempts attempts in all, when
// the server answers 429, 409 idempotency_request_in_progress, 500, 502, 503
// or 504, or when no response arrived (a transport error). 429 is retried
// for every request: the rate limiter refuses before anything runs. The
// others only for requests that are safe to send again: those with an
// Idempotency-Key (every POST this package sends) and GET, HEAD, PUT and
// DELETE. A 500 is retried too because the server's idempotency layer makes
// it safe: a request that failed gives its key back, so the retry runs
// afresh, and one that completed is replayed from its stored response. A
// PATCH is never retried after it may have reached the server. (A DELETE
// whose first attempt went through but whose answer was lost may answer 404
// on its retry.)
//
// Each wait is at least the response's Retry-After (seconds or an HTTP date)
// and at least an exponential backoff with jitter, capped by
// RetryPolicy.MaxBackoff. A Retry-After longer than RetryPolicy.MaxRetryAfter
// ends the retries at once, as does a wait that would outlast the context's
// deadline: the last error is returned rather than a deadline error. A
// cancelled context stops the retries with an error that matches both
// context.Canceled and the last *Error.
//
// # Responses
//
// Typed methods return the decoded body. CaptureResponse gives the rest of
// the answer: the status (201, or 200 for a reused intent or a duplicate,
// 202 for a write answered before the worker finished), Replayed for an
// idempotent replay, RateLimit, Location, the attempts made. PreferAsync
// and PreferWait choose how long an asynchronous write (evidence, uploads,
// auto-match) waits for the worker. Do reaches any other route with the same
// credentials, keys, retries and errors.
//
// # Errors
//
// Any answer outside 2xx is an *Error; use errors.As:
//
//	var apiErr *client.Error
//	if errors.As(err, &apiErr) {
//		switch {
//		case apiErr.StatusCode == http.StatusNotFound:
//		case apiErr.Code == client.CodeInvalidRequest:
//			for _, is := range apiErr.Issues { log.Println(is.Path, is.Message) }
//		}
//	}
//
// Other errors are transport or encoding failures, wrapped with the method
// and path.
package client
