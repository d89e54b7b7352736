// Package fault names what a service says is wrong with a request, in
// kinds the api answers with a 4xx: data that refuses it (400 naming the
// field), a collision with what is stored (409 with a code), an action the
// object's status does not allow (409). Services keep their own not-found
// errors; NotFound turns a missing row into one.
package fault

import (
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// InputError is a request the data refuses (an unknown account, bounds that
// do not fit): 400 naming the field at Path.
type InputError struct {
	Path []string
	Msg  string
}

func (e *InputError) Error() string { return e.Msg }

// ConflictError is a change that collides with what is stored (an external
// id already taken, a row another match holds): 409 with Code and details.
type ConflictError struct {
	Code    string
	Msg     string
	Details map[string]any
}

func (e *ConflictError) Error() string { return e.Msg }

// StateError is an action the object's status does not allow: 409.
type StateError struct {
	Object, Action, Status string
}

func (e *StateError) Error() string {
	return fmt.Sprintf("cannot %s a %s that is %s", e.Action, e.Object, e.Status)
}

// NotFound passes a read's result on, with nf for a missing row and other
// errors wrapped with what was read.
func NotFound[T any](v T, err error, nf error, what string) (T, error) {
	if errors.Is(err, pgx.ErrNoRows) {
		return v, nf
	}
	if err != nil {
		return v, fmt.Errorf("read %s: %w", what, err)
	}
	return v, nil
}

// UniqueViolation reports whether err is Postgres refusing a duplicate
// (23505): the write collided with a stored row, which callers turn into a
// ConflictError naming what collided.
func UniqueViolation(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}
