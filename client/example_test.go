package client_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"time"

	"github.com/reconlayer/reconlayer/client"
)

// The quickstart: what should happen, what did happen, and the verdict.
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c := client.New("http://localhost:3001", client.WithCredential(os.Getenv("RECONLAYER_API_KEY")))

	intent, err := c.CreatePaymentIntent(ctx, client.CreatePaymentIntentParams{
		ExternalReference: "order_1001",
		SourceAmount:      "100.00",
		SourceCurrency:    "USD",
		PaymentType:       "other",
	})
	if err != nil {
		log.Fatal(err)
	}
	receipt, err := c.SubmitProviderEvidence(ctx, client.ProviderEvidence{
		Provider:           "acmepay",
		ProviderTransferID: "tr_1001",
		Status:             "completed",
		Amount:             client.Money{Amount: "100.00", Currency: "USD"},
		ExternalReference:  "order_1001",
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(receipt.Status, receipt.MatchedCaseIDs)

	cs, err := c.GetCase(ctx, intent.CaseID)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(cs.ReconciliationStatus, *cs.Verdict)
}

// Errors are *client.Error: branch on the status or the stable code.
func Example_errors() {
	c := client.New("http://localhost:3001", client.WithCredential(os.Getenv("RECONLAYER_API_KEY")))
	_, err := c.CreatePaymentIntent(context.Background(), client.CreatePaymentIntentParams{ExternalReference: "order_1001"})
	var apiErr *client.Error
	switch {
	case errors.As(err, &apiErr) && apiErr.Code == client.CodeInvalidRequest:
		for _, is := range apiErr.Issues {
			fmt.Println(is.Path, is.Message)
		}
	case errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusConflict:
		var details struct {
			PaymentIntentID string `json:"paymentIntentId"`
		}
		_ = apiErr.DecodeDetails(&details)
		fmt.Println("conflicts with", details.PaymentIntentID)
	case err != nil:
		log.Fatal(err) // no answer: the retries were spent, or the context ended
	}
}

// A load generator measures the server, so it turns retries off and sends
// pre-encoded bodies through Do, discarding the answers.
func ExampleClient_Do() {
	c := client.New("http://localhost:3001", client.WithCredential(os.Getenv("RECONLAYER_API_KEY")),
		client.WithRetry(client.RetryPolicy{MaxAttempts: 1}))
	body := []byte(`{"provider":"acmepay","providerTransferId":"tr_1","status":"completed","amount":{"amount":"10.00","currency":"USD"}}`)
	resp, err := c.Do(context.Background(), http.MethodPost, "/v1/evidence/provider", body, io.Discard, client.PreferAsync())
	if resp != nil {
		fmt.Println(resp.StatusCode) // 202
	}
	if err != nil && resp == nil {
		log.Fatal(err)
	}
}
