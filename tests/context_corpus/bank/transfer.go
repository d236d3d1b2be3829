package bank

import "errors"

// ErrFrozen is returned for a frozen account.
var ErrFrozen = errors.New("account frozen")

// Transfer moves money between accounts and records it.
func Transfer(ledger *Ledger, from, to *Account, amount Cents) error {
	if from.Frozen || to.Frozen {
		return ErrFrozen
	}
	if err := from.Withdraw(amount); err != nil {
		return err
	}
	to.Deposit(amount)
	ledger.Record(from.ID, to.ID, amount)
	return nil
}

// Fee is what a transfer of an amount costs.
func Fee(amount float64) Cents {
	return FromFloat(amount * 0.01)
}
