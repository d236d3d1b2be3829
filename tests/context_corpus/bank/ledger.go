package bank

import "time"

// Entry is one movement of money.
type Entry struct {
	From, To string
	Amount   Cents
	At       time.Time
}

// Ledger records every movement.
type Ledger struct {
	entries []Entry
}

// NewLedger returns an empty ledger.
func NewLedger() *Ledger {
	return &Ledger{}
}

// Record appends an entry stamped now.
func (l *Ledger) Record(from, to string, amount Cents) {
	l.entries = append(l.entries, Entry{From: from, To: to, Amount: amount, At: time.Now()})
}

// Withdraw is not a ledger operation; it reverses the last entry.
func (l *Ledger) Withdraw() {
	l.entries = l.entries[:len(l.entries)-1]
}
